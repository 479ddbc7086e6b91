/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The page's look, from screenshots of a fixed scene (24 generated colour photos,
// a search for "red", a fixed window, light scheme, no animation):
//  - what the screenshot shows where the page says its tiles are: the thumbnails
//    are really drawn, red ones first, in a square grid of the expected width;
//  - a 64×40 reduction of the whole screenshot against a stored baseline
//    (test/baselines/, under 4 KB): at that scale text is a grey smear, so font
//    rasterisation and antialiasing do not matter, but colours, the header, the
//    spacing and the grid do. A change of look fails it; regenerate the baseline
//    on purpose with PICSIFT_UPDATE_BASELINE=1 and look at the image it writes;
//  - on a phone-sized window: three columns and nothing wider than the screen.
// The scene is deterministic: generated photos, the color-clip model, ties in
// the ranking broken by id, and no temporary paths on the page (the tiles' dates
// are today's, a smear at the reduced scale).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../src/server/serve.js';
import { COLOURS, repoRoot } from './support.js';
import { indexWithCli, launchChromium, serve, writeColourPhotos } from './server-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'picsift-look-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const BASELINE = join(repoRoot, 'test', 'baselines', 'gallery-red-1280x800.png');
const REDUCED = { width: 64, height: 40 };
/**
 * Allowed per-channel difference (0–255) between reductions: on average, and for
 * the 98th percentile. Another font moves edges by a pixel or two, which changes
 * a few reduced pixels a lot (so the very worst is not limited). Measured against
 * this baseline: Liberation Sans instead of DejaVu Sans 0.78 / 5 (passes); page
 * background #f6f7f9 → #fff 1.25 / 7, header tinted blue 1.01 / 20, grid gap
 * 0.75 → 1 rem 4.47 / 33, font size 16 → 15 px 9.5 / 73 (all fail).
 */
const MEAN_TOLERANCE = 1;
const P98_TOLERANCE = 12;

let browser: Browser;
let server: RunningServer;
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  const photos = join(work, 'photos');
  await writeColourPhotos(photos, 4, [160, 120]);
  const library = join(work, 'library');
  await indexWithCli(library, photos);
  [server, browser] = await Promise.all([serve({ after: (fn) => void cleanups.push(fn) }, { library }), launchChromium()]);
});

after(async () => {
  await browser?.close();
  for (const cleanup of cleanups) await cleanup();
});

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
  /** The image's opacity: results below the cut-off are dimmed over the tile's background. */
  opacity?: number;
}

/** The tile's background (--tile in the light scheme), which a dimmed thumbnail shows through. */
const TILE_BACKGROUND = [230, 233, 238];

/** The page at /?q=red&all=1 in a fixed setting, once every thumbnail in view has been drawn. */
async function settledPage(viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: 1,
    colorScheme: 'light',
    reducedMotion: 'reduce',
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  // The whole ranking: the four matches, the cut-off's line, then the weaker results.
  await page.goto(`${server.url}/?q=red&all=1`);
  await page.waitForSelector('.tile');
  await page.waitForFunction(() => {
    const inView = [...document.querySelectorAll<HTMLImageElement>('.tile img')].filter((i) => i.getBoundingClientRect().top < innerHeight);
    return inView.length > 0 && inView.every((i) => i.complete && i.naturalWidth > 0);
  });
  await page.evaluate(async () => {
    await document.fonts.ready;
    (document.activeElement as HTMLElement | null)?.blur(); // no focus ring: the look, not the focus
  });
  return page;
}

const tileImageBoxes = (page: Page): Promise<Box[]> =>
  page.$$eval('.tile img', (imgs) =>
    imgs
      .map((img) => ({ r: img.getBoundingClientRect(), opacity: Number(getComputedStyle(img).opacity) }))
      .filter(({ r }) => r.bottom <= innerHeight)
      .map(({ r, opacity }) => ({ x: r.x, y: r.y, width: r.width, height: r.height, opacity })),
  );

/** Average colour of the middle of `box` in a decoded screenshot. */
function averageColour(pixels: { data: Buffer; width: number; channels: number }, box: Box): [number, number, number] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = Math.round(box.y + box.height * 0.3); y < box.y + box.height * 0.7; y++) {
    for (let x = Math.round(box.x + box.width * 0.3); x < box.x + box.width * 0.7; x++) {
      const i = (y * pixels.width + x) * pixels.channels;
      for (let c = 0; c < 3; c++) sum[c] += pixels.data[i + c];
      n++;
    }
  }
  return sum.map((s) => s / n) as [number, number, number];
}

function nearestColour(rgb: [number, number, number], opacity = 1): { name: string; distance: number } {
  let best = { name: '', distance: Infinity };
  for (const [name, colour] of Object.entries(COLOURS)) {
    const ref = colour.map((c, i) => opacity * c + (1 - opacity) * TILE_BACKGROUND[i]);
    const distance = Math.hypot(rgb[0] - ref[0], rgb[1] - ref[1], rgb[2] - ref[2]);
    if (distance < best.distance) best = { name, distance };
  }
  return best;
}

async function reduce(png: Buffer): Promise<Buffer> {
  return sharp(png).removeAlpha().resize(REDUCED.width, REDUCED.height, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
}

test('laptop: the thumbnails are drawn, red first, in a square grid; the look matches the baseline', async (t) => {
  const page = await settledPage({ width: 1280, height: 800 });
  const shot = await page.screenshot({ animations: 'disabled', caret: 'hide' });
  const saved = join(work, 'gallery-red-1280x800.png');
  writeFileSync(saved, shot);
  t.diagnostic(`screenshot: ${saved}`);

  const decoded = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const pixels = { data: decoded.data, width: decoded.info.width, channels: decoded.info.channels };
  const boxes = await tileImageBoxes(page);
  assert.ok(boxes.length >= 10, `${boxes.length} thumbnails in view`);
  const seen = boxes.map((box) => nearestColour(averageColour(pixels, box), box.opacity));
  for (const [i, colour] of seen.entries()) assert.ok(colour.distance < 40, `thumbnail ${i + 1} is drawn (${JSON.stringify(colour)})`);
  assert.deepEqual(
    seen.slice(0, 4).map((c) => c.name),
    ['red', 'red', 'red', 'red'],
  );
  assert.ok(!seen.slice(4).some((c) => c.name === 'red'), 'only four photos are red');

  assert.equal(boxes.filter((b) => b.y === boxes[0].y).length, 4, 'the four matches');
  const firstRow = boxes.filter((b) => b.y === boxes[4].y);
  assert.equal(firstRow.length, 6, 'six columns at 1280 px');
  for (const b of boxes) assert.ok(Math.abs(b.width - b.height) < 1 && Math.abs(b.width - boxes[0].width) < 1, 'square tiles of one size');
  const header = await page.$eval('header', (h) => h.getBoundingClientRect().toJSON() as Box);
  assert.equal(header.y, 0);
  assert.ok(header.height < 90, `one-row header on a laptop (${header.height} px)`);

  const reduced = await reduce(shot);
  if (process.env.PICSIFT_UPDATE_BASELINE === '1') {
    mkdirSync(dirname(BASELINE), { recursive: true });
    await sharp(reduced, { raw: { ...REDUCED, channels: 3 } })
      .png({ compressionLevel: 9, adaptiveFiltering: true })
      .toFile(BASELINE);
    t.diagnostic(`wrote ${BASELINE}`);
  }
  assert.ok(existsSync(BASELINE), `no baseline at ${BASELINE}: run this test with PICSIFT_UPDATE_BASELINE=1, check the image, commit it`);
  const baseline = await sharp(BASELINE).removeAlpha().raw().toBuffer();
  assert.equal(baseline.length, reduced.length);
  const differences = [...reduced].map((v, i) => Math.abs(v - baseline[i])).sort((a, b) => a - b);
  const mean = differences.reduce((a, b) => a + b, 0) / differences.length;
  const p98 = differences[Math.floor(differences.length * 0.98)];
  t.diagnostic(`difference from the baseline: mean ${mean.toFixed(2)}, 98th percentile ${p98}, worst ${differences.at(-1)}`);
  assert.ok(
    mean <= MEAN_TOLERANCE && p98 <= P98_TOLERANCE,
    `the page looks different from ${BASELINE} (mean ${mean.toFixed(2)}, 98th percentile ${p98}); screenshot: ${saved}`,
  );
  await page.context().close();
});

test('phone: three columns, nothing wider than the screen, the viewer fills it', async () => {
  const page = await settledPage({ width: 390, height: 844 });
  const boxes = await tileImageBoxes(page);
  assert.equal(boxes.filter((b) => b.y === boxes[0].y).length, 3, 'three columns at 390 px');
  assert.ok(boxes[0].width >= 110);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
  assert.equal(overflow, 0, 'no sideways scrolling');
  const button = await page.$eval('#search button', (b) => b.getBoundingClientRect().toJSON() as Box);
  assert.ok(button.x + button.width <= 390, 'the search button is on screen');
  await page.click('.tile >> nth=0');
  await page.waitForSelector('#viewer[open]');
  const viewer = await page.$eval('#viewer', (v) => v.getBoundingClientRect().toJSON() as Box);
  assert.deepEqual([viewer.width, viewer.height], [390, 844]);
  await page.context().close();
});
