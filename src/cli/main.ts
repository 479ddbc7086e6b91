// The picsift command line: declares the commands and their options, parses,
// and hands each command to its module under commands/, loaded only when that
// command runs (so `--help` and a cold search do not load every library).
// Defaults come from the modules they configure.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { defaultLibraryDir } from '../app/library-dir.js';
import { DEFAULT_DUPLICATE_THRESHOLD } from '../app/duplicates.js';
import { DEFAULT_RESULTS, MAX_RESULTS } from '../app/search-limits.js';
import { DEFAULT_MAX_PIXELS } from '../media/limits.js';
import { DEFAULT_FILE_TIMEOUT_MS } from '../media/safe-open.js';
import { DEFAULT_BATCH_SIZE } from '../pipeline/defaults.js';
import { DEFAULT_LEASE_MS } from '../catalog/ports.js';
import { repoRoot } from '../util/repo-root.js';
import { collect, positiveInt, score } from './options.js';
import { registerServeCommand } from './serve-command.js';
import { reportFailure } from './failure.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

const program = new Command()
  .name('picsift')
  .description('Search a photo collection by text.')
  .version(version, '--version', 'print the version')
  .showSuggestionAfterError()
  .addOption(
    new Option('--library <dir>', "folder that holds picsift's files for this machine").env('PICSIFT_LIBRARY').default(defaultLibraryDir()),
  )
  .addOption(
    new Option('--catalog <url>', 'keep the catalogue in PostgreSQL (postgres://USER@HOST:PORT/DB) instead of the library folder').env(
      'PICSIFT_CATALOG',
    ),
  )
  .option(
    '--model <id-or-dir>',
    "Hugging Face model id or model directory (default: the library's model, else Xenova/clip-vit-base-patch32)",
  )
  .addOption(new Option('--dtype <dtype>', "ONNX variant (default: the library's, else fp32)").choices(['fp32', 'q8']))
  .addOption(
    new Option('--device <device>', 'where models run: auto (a GPU if one works, else the CPU), cpu, cuda, webgpu, dml or coreml').env(
      'PICSIFT_DEVICE',
    ),
  )
  .option('--verbose', 'say more about what happens')
  .option('--quiet', 'print only results, warnings and errors');

// Argument mistakes: one line and a hint, not the whole usage text.
program.configureOutput({
  outputError: (message, write) => write(`picsift: ${message.replace(/^error: /, '').trim()}\n`),
});
program.showHelpAfterError('(run `picsift COMMAND --help` for its options)');

/** Loads a command's module when the command runs. */
const lazy =
  <A extends unknown[]>(load: () => Promise<(...args: A) => Promise<void>>) =>
  async (...args: A): Promise<void> =>
    (await load())(...args);

program
  .command('run-pipeline')
  .alias('scan')
  .description('register the image files under each DIR (no embedding yet)')
  .argument('<dir...>', 'folders (or files) to register')
  .action(lazy(async () => (await import('./commands/embedding.js')).scan));

const embedOptions = (cmd: Command): Command =>
  cmd
    .option(
      '--batch-size <n>',
      `images per model call (default: the device's, ${DEFAULT_BATCH_SIZE} on the CPU, more on a GPU)`,
      positiveInt('--batch-size', 1024),
    )
    .option(
      '--max-pixels <n>',
      'refuse images with more pixels than this (decompression bombs)',
      positiveInt('--max-pixels'),
      DEFAULT_MAX_PIXELS,
    )
    .option(
      '--file-timeout <seconds>',
      'give up on a file whose reading or decoding takes longer',
      positiveInt('--file-timeout'),
      DEFAULT_FILE_TIMEOUT_MS / 1000,
    )
    .option('--retry-failed', 'try the images that failed before once more')
    .option('--path-map <from=to>', 'read catalogue paths under FROM from TO on this machine (repeatable)', collect)
    .option(
      '--lease <seconds>',
      "with --catalog: how long this worker's claim on a batch lasts without renewal (a dead worker's batch goes to others after it)",
      positiveInt('--lease'),
      DEFAULT_LEASE_MS / 1000,
    );

embedOptions(program.command('embed').description('embed every registered image that has no vector yet')).action(
  lazy(async () => (await import('./commands/embedding.js')).embed),
);

program
  .command('build-index')
  .description('build or refresh the approximate-nearest-neighbour index')
  .option('--rebuild', 'rebuild from scratch instead of adding the new vectors')
  .action(lazy(async () => (await import('./commands/embedding.js')).buildIndex));

embedOptions(
  program.command('index').description('register + embed + build-index, in one go').argument('<dir...>', 'folders (or files) to index'),
).action(lazy(async () => (await import('./commands/embedding.js')).index));

embedOptions(
  program
    .command('reembed')
    .description(
      'embed every image with another model (--model NEW [--dtype]) into a second set of vectors, while search keeps using the current one; resumable',
    )
    .option('--switch', 'switch the library to the new model once every image has a vector from it'),
).action(lazy(async () => (await import('./commands/models.js')).reembed));

program
  .command('use-model')
  .description('switch the library to a model that reembed has completed (give --dtype when the library has the model in two)')
  .argument('<model>', 'the model id or directory, as given to reembed --model')
  .action(lazy(async () => (await import('./commands/models.js')).useModel));

program
  .command('drop-model')
  .description("delete a model's vectors that the library no longer uses (after use-model), or an unfinished reembed")
  .argument('<model>', 'the model id or directory')
  .action(lazy(async () => (await import('./commands/models.js')).dropModelCommand));

/** Options every search command takes: result count, output, cut-off, query terms and filters. */
const searchOptions = (cmd: Command): Command =>
  cmd
    .option('-n <k>', 'number of results', positiveInt('-n', MAX_RESULTS), DEFAULT_RESULTS)
    .option('--json', 'print JSON')
    .option('--threshold <score>', 'the cut-off: a fixed cosine instead of the one adapted to each query', score('--threshold'))
    .option('--all', 'show the whole ranking, also the results below the cut-off')
    .addOption(
      new Option('--sort <order>', 'order of the matches: by score, or by date taken (newest or oldest first)')
        .choices(['score', 'newest', 'oldest'])
        .default('score'),
    )
    .option('--add <[weight:]text>', 'also look for this text (repeatable; e.g. --add 2:sunset)', collect)
    .option('--subtract <[weight:]text>', 'steer away from this text (repeatable)', collect)
    .option('--add-image <[weight:]path-or-id>', 'also look like this image file or catalogue id (repeatable)', collect)
    .option('--subtract-image <[weight:]path-or-id>', 'steer away from this image (repeatable)', collect)
    .option('--path <glob-or-folder>', 'only photos under this folder, or whose absolute path matches this glob (* also crosses /)')
    .option('--after <date>', 'only photos taken on or after this local date/time (EXIF date taken, else file time), e.g. 2021-06-05')
    .option('--before <date>', 'only photos taken before this local date/time')
    .option('--camera <text>', 'only photos whose camera make or model contains this text (any case)')
    .option('--min-width <px>', 'only photos at least this wide')
    .option('--min-height <px>', 'only photos at least this tall')
    .option('--format <list>', 'only these formats, e.g. jpg,png');

searchOptions(
  program
    .command('search-text')
    .alias('search')
    .description('find the photos that best match a text')
    .argument('<query>', 'what to look for, e.g. "sky at sunset"'),
).action(lazy(async () => (await import('./commands/search.js')).searchText));

searchOptions(
  program
    .command('search-image')
    .description('find the photos most like an image file (not added to the library) or a catalogued image id')
    .argument('<path-or-id>', 'an image file, or the catalogue id of an image (it is left out of the results)'),
).action(lazy(async () => (await import('./commands/search.js')).searchImage));

program
  .command('duplicates')
  .description('list groups of identical files and near-duplicates (resized or re-encoded copies)')
  .option(
    '--threshold <score>',
    'cosine at or above which two photos count as near-duplicates',
    score('--threshold'),
    DEFAULT_DUPLICATE_THRESHOLD,
  )
  .option('--json', 'print JSON')
  .action(lazy(async () => (await import('./commands/search.js')).duplicates));

program
  .command('status')
  .description('counts of images, vectors and index entries')
  .option('--json', 'print JSON')
  .action(lazy(async () => (await import('./commands/library.js')).status));

program
  .command('errors')
  .description('list the files that could not be embedded, with the reason')
  .option('--json', 'print JSON')
  .action(lazy(async () => (await import('./commands/library.js')).errors));

program
  .command('forget')
  .description('remove every image under DIR from the library')
  .argument('<dir...>', 'folders to forget')
  .action(lazy(async () => (await import('./commands/library.js')).forget));

program
  .command('verify')
  .description('check the catalogue and the index; exits 1 and lists the problems if any')
  .option('--json', 'print JSON')
  .option('--full', "run the storage engine's full integrity check (slower) instead of its quick one")
  .action(lazy(async () => (await import('./commands/library.js')).verify));

program
  .command('repair')
  .description('fix what verify reports, by dropping bad vectors (re-embedded by the next embed) and rebuilding the index')
  .action(lazy(async () => (await import('./commands/library.js')).repair));

program
  .command('recover')
  .description('copy what can still be read of a damaged catalogue into a new one (the damaged file is kept beside it)')
  .action(lazy(async () => (await import('./commands/library.js')).recover));

program
  .command('import-legacy')
  .description("adopt the old tool's library: metadata.db + embeddings.npy")
  .requiredOption('--db <metadata.db>', 'SQLite database with table images(id, file_path, embedding_index, width, height, format)')
  .requiredOption('--embeddings <embeddings.npy>', 'float32 array of shape (N, dims); row i belongs to embedding_index i')
  .action(lazy(async () => (await import('./commands/transfer.js')).importLegacy));

program
  .command('export')
  .description('write embeddings.npy and metadata.db in the old layout, for numpy and FAISS')
  .requiredOption('--out <dir>', 'folder to write into')
  .option('--force', 'replace an export already in that folder')
  .action(lazy(async () => (await import('./commands/transfer.js')).exportLegacy));

program
  .command('migrate')
  .description('copy the catalogue to PostgreSQL (--to postgres://…) or to a library folder (--to DIR); resumable')
  .requiredOption('--to <url-or-dir>', 'a PostgreSQL URL, or a library folder for an SQLite catalogue')
  .action(lazy(async () => (await import('./commands/transfer.js')).migrate));

registerServeCommand(program);

try {
  await program.parseAsync();
} catch (err) {
  reportFailure(err);
}
