// The layering of CONTRIBUTING.md is a lint rule, and a rule that cannot fail
// protects nothing: code that imports against the layers is refused, code that
// follows them passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import { repoRoot } from '../support.js';

/** The project's rules, without the type-aware ones (the probe files exist only in memory). */
const eslint = new ESLint({
  cwd: repoRoot,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parserOptions: { projectService: false, project: null } },
      rules: {
        '@typescript-eslint/no-floating-promises': 'off',
        '@typescript-eslint/no-misused-promises': 'off',
        '@typescript-eslint/await-thenable': 'off',
      },
    },
  ],
});

async function importErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('imports against the layers fail the lint', async () => {
  const cases: [string, string, RegExp][] = [
    [
      'src/catalog/probe.ts',
      "import { buildApp } from '../server/app.js';\nexport const x = buildApp;\n",
      /src\/catalog\/ must not import from this layer/,
    ],
    [
      'src/catalog/sqlite/probe.ts',
      "import { searchVectors } from '../../search/vector-search.js';\nexport const x = searchVectors;\n",
      /must not import from this layer/,
    ],
    ['src/app/probe.ts', "import fastify from 'fastify';\nexport const x = fastify;\n", /fastify belongs to src\/server/],
    ['src/app/probe.ts', "import { Command } from 'commander';\nexport const x = Command;\n", /commander belongs to src\/cli/],
    ['src/app/probe.ts', "import sharp from 'sharp';\nexport const x = sharp;\n", /sharp belongs to src\/media/],
    [
      'src/search/probe.ts',
      "import { SqliteCatalog } from '../catalog/sqlite/sqlite-catalog.js';\nexport const x = SqliteCatalog;\n",
      /Only src\/catalog knows which backend/,
    ],
    [
      'src/media/probe.ts',
      "import { SearchService } from '../app/search-service.js';\nexport const x = SearchService;\n",
      /must not import from this layer/,
    ],
  ];
  for (const [file, code, message] of cases) {
    const errors = await importErrors(file, code);
    assert.ok(
      errors.some((e) => message.test(e)),
      `${file}: ${code.split('\n')[0]} → ${JSON.stringify(errors)}`,
    );
  }
});

test('imports along the layers pass', async () => {
  assert.deepEqual(
    await importErrors('src/app/probe.ts', "import type { Catalog } from '../catalog/ports.js';\nexport type X = Catalog;\n"),
    [],
  );
  assert.deepEqual(await importErrors('src/server/probe.ts', "import fastify from 'fastify';\nexport const x = fastify;\n"), []);
  assert.deepEqual(await importErrors('src/media/probe.ts', "import sharp from 'sharp';\nexport const x = sharp;\n"), []);
});
