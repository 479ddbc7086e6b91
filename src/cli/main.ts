// The picsift command line: parses arguments, calls the core, formats results.
import { Command, InvalidArgumentError, Option } from 'commander';
import { commands } from './commands.js';
import { defaultLibraryDir } from '../library.js';
import { registerServeCommand } from './serve-command.js';

function positiveInt(name: string, max?: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || (max !== undefined && n > max)) {
      throw new InvalidArgumentError(`${name} must be a whole number from 1${max ? ` to ${max}` : ' up'}, not "${value}"`);
    }
    return n;
  };
}

const program = new Command()
  .name('picsift')
  .description('Search a photo collection by text.')
  .showHelpAfterError()
  .addOption(
    new Option('--library <dir>', 'folder that holds everything picsift writes').env('PICSIFT_LIBRARY').default(defaultLibraryDir()),
  )
  .option(
    '--model <id-or-dir>',
    "Hugging Face model id or model directory (default: the library's model, else Xenova/clip-vit-base-patch32)",
  )
  .addOption(new Option('--dtype <dtype>', "ONNX variant (default: the library's, else fp32)").choices(['fp32', 'q8']));

program
  .command('run-pipeline')
  .alias('scan')
  .description('register the image files under each DIR (no embedding yet)')
  .argument('<dir...>', 'folders (or files) to register')
  .action((dirs: string[], _opts, cmd: Command) => commands.scan(cmd.optsWithGlobals(), dirs));

const embedOptions = (cmd: Command): Command =>
  cmd
    .option('--batch-size <n>', 'images per model call', positiveInt('--batch-size', 1024), 16)
    .option('--max-pixels <n>', 'refuse images with more pixels than this (decompression bombs)', positiveInt('--max-pixels'), 100_000_000)
    .option('--file-timeout <seconds>', 'give up on a file whose decoding takes longer', positiveInt('--file-timeout'), 60)
    .option('--retry-failed', 'try the images that failed before once more');

embedOptions(program.command('embed').description('embed every registered image that has no vector yet')).action((_opts, cmd: Command) =>
  commands.embed(cmd.optsWithGlobals()),
);

program
  .command('build-index')
  .description('build or refresh the approximate-nearest-neighbour index')
  .option('--rebuild', 'rebuild from scratch instead of adding the new vectors')
  .action((_opts, cmd: Command) => commands.buildIndex(cmd.optsWithGlobals()));

/** Repeatable options collect into an array (no shared default array). */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function score(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < -1 || n > 1) {
      throw new InvalidArgumentError(`${name} must be a cosine score from -1 to 1, not "${value}"`);
    }
    return n;
  };
}

/** Options every search command takes: result count, output, cut-off, query terms and filters. */
const searchOptions = (cmd: Command): Command =>
  cmd
    .option('-n <k>', 'number of results', positiveInt('-n', 1000), 20)
    .option('--json', 'print JSON')
    .option('--threshold <score>', 'drop results scoring below this cosine', score('--threshold'))
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
).action((query: string, _opts, cmd: Command) => commands.searchText(cmd.optsWithGlobals(), query));

searchOptions(
  program
    .command('search-image')
    .description('find the photos most like an image file (not added to the library) or a catalogued image id')
    .argument('<path-or-id>', 'an image file, or the catalogue id of an image (it is left out of the results)'),
).action((ref: string, _opts, cmd: Command) => commands.searchImage(cmd.optsWithGlobals(), ref));

program
  .command('duplicates')
  .description('list groups of identical files and near-duplicates (resized or re-encoded copies)')
  .option('--threshold <score>', 'cosine at or above which two photos count as near-duplicates', score('--threshold'), 0.95)
  .option('--json', 'print JSON')
  .action((_opts, cmd: Command) => commands.duplicates(cmd.optsWithGlobals()));

embedOptions(
  program.command('index').description('register + embed + build-index, in one go').argument('<dir...>', 'folders (or files) to index'),
).action((dirs: string[], _opts, cmd: Command) => commands.index(cmd.optsWithGlobals(), dirs));

program
  .command('status')
  .description('counts of images, vectors and index entries')
  .option('--json', 'print JSON')
  .action((_opts, cmd: Command) => commands.status(cmd.optsWithGlobals()));

program
  .command('errors')
  .description('list the files that could not be embedded, with the reason')
  .option('--json', 'print JSON')
  .action((_opts, cmd: Command) => commands.errors(cmd.optsWithGlobals()));

program
  .command('forget')
  .description('remove every image under DIR from the library')
  .argument('<dir...>', 'folders to forget')
  .action((dirs: string[], _opts, cmd: Command) => commands.forget(cmd.optsWithGlobals(), dirs));

program
  .command('verify')
  .description('check the catalogue and the index; exits 1 and lists the problems if any')
  .option('--json', 'print JSON')
  .action((_opts, cmd: Command) => commands.verify(cmd.optsWithGlobals()));

program
  .command('repair')
  .description('fix what verify reports, by dropping bad vectors (re-embedded by the next embed) and rebuilding the index')
  .action((_opts, cmd: Command) => commands.repair(cmd.optsWithGlobals()));

program
  .command('import-legacy')
  .description("adopt the old tool's library: metadata.db + embeddings.npy")
  .requiredOption('--db <metadata.db>', 'SQLite database with table images(id, file_path, embedding_index, width, height, format)')
  .requiredOption('--embeddings <embeddings.npy>', 'float32 array of shape (N, dims); row i belongs to embedding_index i')
  .action((_opts, cmd: Command) => commands.importLegacy(cmd.optsWithGlobals()));

program
  .command('export')
  .description('write embeddings.npy and metadata.db in the old layout, for numpy and FAISS')
  .requiredOption('--out <dir>', 'folder to write into')
  .action((_opts, cmd: Command) => commands.export(cmd.optsWithGlobals()));

registerServeCommand(program);

try {
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`picsift: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
