// Lint rules: typescript-eslint's recommended set, the promise rules that catch a
// forgotten `await` (the bugs that lose work silently), and the layering of
// CONTRIBUTING.md as import restrictions, so a change that reaches across a seam
// fails `npm run lint` instead of slipping through review.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Each outside library has one home: a module (or folder) that owns it. */
const LIBRARY_HOMES = [
  { name: 'better-sqlite3', home: ['src/catalog/sqlite/**', 'src/legacy/**', 'src/util/folder-lock.ts'] },
  { name: 'pg', home: ['src/catalog/postgres/**'] },
  { name: 'sharp', home: ['src/media/**'] },
  { name: 'exifr', home: ['src/media/**'] },
  { name: 'file-type', home: ['src/media/**'] },
  { name: 'onnxruntime-node', home: ['src/model/**'] },
  { name: '@huggingface/transformers', home: ['src/model/hub.ts'] },
  { name: 'usearch', home: ['src/index/**'] },
  { name: 'fastify', home: ['src/server/**'] },
  { name: '@fastify/rate-limit', home: ['src/server/**'] },
  { name: 'commander', home: ['src/cli/**'] },
  { name: '@parcel/watcher', home: ['src/pipeline/fs-events.ts'] },
];

/**
 * Which internal folders a layer must not import from. Front ends (cli, server)
 * sit on the application services (app), which sit on the core modules, which sit
 * on the catalogue's ports and domain types (catalog). Nothing below reaches up.
 */
const LAYERS = {
  'src/catalog/**': ['app', 'cli', 'server', 'search', 'media', 'pipeline', 'model', 'index', 'legacy'],
  'src/util/**': ['app', 'cli', 'server', 'search', 'media', 'pipeline', 'model', 'index', 'legacy', 'catalog'],
  'src/media/**': ['app', 'cli', 'server', 'search', 'pipeline', 'model', 'index', 'legacy'],
  'src/model/**': ['app', 'cli', 'server', 'search', 'pipeline', 'index', 'legacy'],
  'src/index/**': ['app', 'cli', 'server', 'search', 'media', 'pipeline', 'model', 'legacy'],
  'src/search/**': ['app', 'cli', 'server', 'media', 'pipeline', 'model', 'legacy'],
  'src/pipeline/**': ['app', 'cli', 'server', 'search', 'index', 'legacy'],
  'src/legacy/**': ['app', 'cli', 'server', 'search', 'media', 'pipeline', 'model', 'index'],
  'src/app/**': ['cli', 'server'],
  'src/server/**': ['cli'],
};

/** Backends are reached only through src/catalog/open-catalog.ts. */
const BACKENDS = /** @type {const} */ (['sqlite', 'postgres']);

function restrictionsFor(file) {
  const paths = LIBRARY_HOMES.filter((lib) => !lib.home.some((glob) => matches(glob, file))).map((lib) => ({
    name: lib.name,
    message: `${lib.name} belongs to ${lib.home.join(' or ')}; go through that module's port (see CONTRIBUTING.md).`,
  }));
  const patterns = [];
  const layer = Object.keys(LAYERS).find((glob) => matches(glob, file));
  if (layer) {
    patterns.push({
      regex: `^(\\.\\./)+(${LAYERS[layer].join('|')})/`,
      message: `${layer.replace('/**', '/')} must not import from this layer (see CONTRIBUTING.md, "Layers").`,
    });
  }
  if (!file.startsWith('src/catalog/')) {
    patterns.push({
      regex: `(^|/)catalog/(${BACKENDS.join('|')})/`,
      message: 'Only src/catalog knows which backend it talks to: use openCatalog() and the ports.',
    });
  }
  patterns.push({ group: ['@fastify/*'], message: 'Fastify plugins belong to src/server.' });
  return { paths, patterns: file.startsWith('src/server/') ? patterns.filter((p) => !p.group) : patterns };
}

/** The few glob shapes used above: "dir/**" and exact files. */
function matches(glob, file) {
  return glob.endsWith('/**') ? file.startsWith(glob.slice(0, -2)) : file === glob;
}

const sourceFolders = [
  'catalog',
  'catalog/sqlite',
  'catalog/postgres',
  'util',
  'media',
  'model',
  'index',
  'search',
  'pipeline',
  'legacy',
  'app',
  'server',
  'cli',
];

/** Files that are a library's home on their own (not a whole folder). */
const homeFiles = [...new Set(LIBRARY_HOMES.flatMap((lib) => lib.home).filter((glob) => !glob.endsWith('/**')))];

/** One config block per source folder, then one per home file, so each gets exactly its own restrictions. */
const layering = [
  ...sourceFolders.map((folder) => ({ files: [`src/${folder}/*.ts`], file: `src/${folder}/x.ts` })),
  ...homeFiles.map((file) => ({ files: [file], file })),
].map(({ files, file }) => ({ files, rules: { 'no-restricted-imports': ['error', restrictionsFor(file)] } }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.models/**', 'bench-results/**', '.demo/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test() returns a promise the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layering,
  { files: ['src/server/public/*.js'], languageOptions: { globals: globals.browser } },
  { files: ['*.js'], languageOptions: { globals: globals.node } },
  // The launcher is CommonJS (bin/package.json; see bin/picsift.js for why).
  {
    files: ['bin/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
