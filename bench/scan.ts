// bench:scan — registration rate (files/s): scan + sniff + record in a fresh
// catalogue, for ../shared/data/cifar10-test (10,000 PNGs) and for a generated
// tree of small files (default 100,000: JPEGs and PNGs, 2% non-images), then
// where the time goes: walking (opendir + stat), sniffing (open + 4100-byte read +
// format detection) and recording (SQLite), each measured alone. Files are read
// from the page cache (the tree was just written; CIFAR is read once first).
//
//   npm run bench:scan [-- --files 100000] [--cifar DIR] [--out FILE.json]
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { fileTypeFromBuffer } from 'file-type';
import { opendir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ScannedFile } from '../src/catalog/types.js';
import { openCatalog } from '../src/catalog/open-catalog.js';
import { registerFolders } from '../src/pipeline/register.js';
import { scanImages } from '../src/pipeline/scan.js';
import { sniffFile } from '../src/media/sniff-format.js';
import { sharedDir } from '../scripts/paths.js';
import { numberArg, parseArgs } from './args.js';
import { report, round, timed } from './stats.js';

const args = parseArgs(process.argv.slice(2));
const fileCount = numberArg(args, 'files', 100_000);
const cifar = args.get('cifar') ?? join(sharedDir, 'data', 'cifar10-test');
const say = (line: string): void => void process.stderr.write(`${line}\n`);

/** A tree like a photo folder: 1,000 files per folder, mostly small JPEGs and PNGs, 2% text files. */
async function generateTree(root: string, count: number): Promise<void> {
  const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 80, b: 20 } } })
    .jpeg()
    .toBuffer();
  const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 20, g: 80, b: 200 } } })
    .png()
    .toBuffer();
  for (let i = 0; i < count; i++) {
    const folder = join(root, `album-${String(Math.floor(i / 1000)).padStart(4, '0')}`);
    if (i % 1000 === 0) mkdirSync(folder, { recursive: true });
    const kind = i % 50 === 49 ? 'txt' : i % 5 === 4 ? 'png' : 'jpg';
    // A few distinct bytes per file, so that no two are identical.
    const body = kind === 'txt' ? Buffer.from(`notes ${i}\n`) : Buffer.concat([kind === 'jpg' ? jpeg : png, Buffer.from(`#${i}`)]);
    writeFileSync(join(folder, `IMG_${String(i).padStart(6, '0')}.${kind}`), body);
  }
}

async function listFiles(dir: string, out: string[] = []): Promise<string[]> {
  const subdirs: string[] = [];
  for await (const entry of await opendir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) subdirs.push(path);
    else if (entry.isFile()) out.push(path);
  }
  for (const sub of subdirs.sort()) await listFiles(sub, out);
  return out;
}

/** Runs `work` over `items`, `concurrency` at a time (as the scanner sniffs a folder). */
async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += concurrency) await Promise.all(items.slice(i, i + concurrency).map(work));
}

interface TreeFigures {
  files: number;
  register_files_per_s: number;
  register_s: number;
  rescan_files_per_s: number;
  walk_us_per_file: number;
  sniff_us_per_file: number;
  record_us_per_file: number;
  detect_us_per_file: number;
  scan_only_files_per_s: number;
  cpu_us_per_file: number;
}

async function measureTree(root: string): Promise<TreeFigures> {
  await listFiles(root); // warm the page cache and the dentry cache
  const library = mkdtempSync(join(tmpdir(), 'picsift-bench-scan-'));
  try {
    const catalog = await openCatalog({ libraryDir: library });
    const first = await timed(() => registerFolders(catalog.scans, [root]));
    const files = first.value.added + first.value.skipped;
    const again = await timed(() => registerFolders(catalog.scans, [root]));
    await catalog.close();

    // The parts alone.
    const paths = await listFiles(root);
    const walk = await timed(async () => {
      const found = await listFiles(root);
      await eachLimited(found, 32, (p) => stat(p));
    });
    const sniff = await timed(() => eachLimited(paths, 32, (p) => sniffFile(p)));
    // Format detection alone, on samples already in memory.
    const samples = paths.map((p) => {
      const fd = openSync(p, 'r');
      const sample = Buffer.alloc(4100);
      const read = readSync(fd, sample, 0, 4100, 0);
      closeSync(fd);
      return sample.subarray(0, read);
    });
    const detect = await timed(async () => {
      for (const sample of samples) await fileTypeFromBuffer(sample);
    });
    const scanned: ScannedFile[] = [];
    const scanOnly = await timed(async () => {
      for await (const f of scanImages([root])) scanned.push(f);
    });
    mkdirSync(join(library, 'fresh'));
    const fresh = await openCatalog({ libraryDir: join(library, 'fresh') });
    const scanId = await fresh.scans.beginScan();
    const record = await timed(async () => {
      for (let i = 0; i < scanned.length; i += 2000) await fresh.scans.registerFiles(scanned.slice(i, i + 2000), scanId);
    });
    await fresh.close();
    const perFile = (ms: number): number => round((ms * 1000) / files, 1);
    return {
      files,
      register_files_per_s: Math.round(files / (first.wallMs / 1000)),
      register_s: round(first.wallMs / 1000, 2),
      rescan_files_per_s: Math.round(files / (again.wallMs / 1000)),
      walk_us_per_file: perFile(walk.wallMs),
      sniff_us_per_file: perFile(sniff.wallMs),
      record_us_per_file: perFile(record.wallMs),
      detect_us_per_file: perFile(detect.wallMs),
      scan_only_files_per_s: Math.round(files / (scanOnly.wallMs / 1000)),
      cpu_us_per_file: perFile(first.cpuMs),
    };
  } finally {
    rmSync(library, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  say(`measuring ${cifar}…`);
  const cifarFigures = await measureTree(cifar);
  const tree = mkdtempSync(join(tmpdir(), 'picsift-bench-tree-'));
  try {
    say(`generating ${fileCount} files in ${tree}…`);
    await generateTree(tree, fileCount);
    say('measuring the generated tree…');
    const treeFigures = await measureTree(tree);
    report(
      {
        files_per_s: treeFigures.register_files_per_s,
        files: treeFigures.files,
        generated_tree: treeFigures,
        cifar10_test: cifarFigures,
        uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
      },
      args.get('out'),
    );
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

await main();
