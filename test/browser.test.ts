/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The gallery in a real browser (Debian's Chromium driven by playwright-core):
// what a person does with it, checked by what they would see.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../src/server/serve.js';
import { COLOURS, models, runCli } from './support.js';
import { indexWithCli, launchChromium, rawGet, serve, writeColourPhotos } from './server-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'picsift-browser-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const PER_COLOUR = 12; // 72 photos: more than one page of results (60)
const TOKEN = 'browser-token-0123456789';

let browser: Browser;
let gallery: RunningServer;
let empty: RunningServer;
let embedding: RunningServer;
let guarded: RunningServer;
/** Collects what the servers need done at the end, run by the after() hook below. */
const cleanups: (() => Promise<void> | void)[] = [];
const suite = { after: (fn: () => Promise<void> | void) => void cleanups.push(fn) };

before(async () => {
  const photos = join(work, 'photos');
  await writeColourPhotos(photos, PER_COLOUR);
  // The reds were taken a month apart, from January 2020 (their file time dates them).
  for (let i = 0; i < PER_COLOUR; i++) utimesSync(join(photos, `red-${i}.jpg`), new Date(2020, i, 15, 12), new Date(2020, i, 15, 12));
  const library = join(work, 'library');
  await indexWithCli(library, photos);
  // Registered but not embedded: what a library looks like while `embed` runs.
  const pending = join(work, 'pending');
  const scanned = await runCli(['--library', pending, '--model', models.colorClip, 'run-pipeline', photos]);
  assert.equal(scanned.code, 0, scanned.stderr);
  [gallery, empty, embedding, guarded, browser] = await Promise.all([
    serve(suite, { library }),
    serve(suite, { library: join(work, 'empty') }),
    serve(suite, { library: pending }),
    serve(suite, { library, token: TOKEN }),
    launchChromium(),
  ]);
});

after(async () => {
  await browser?.close();
  for (const cleanup of cleanups) await cleanup();
});

const pageProblems = new WeakMap<Page, string[]>();

/** A page in a fresh context (no cookies), recording script errors and failed loads. */
async function newPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  pageProblems.set(page, problems);
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  return page;
}

/** Closes the page; any script error or failed load in it fails the test. */
async function done(page: Page): Promise<void> {
  await page.context().close();
  assert.deepEqual(pageProblems.get(page), [], 'errors in the page');
}

/** File names of the result tiles, in the order shown. */
const tileNames = (page: Page): Promise<string[]> => page.$$eval('.tile img', (imgs) => imgs.map((i) => (i as HTMLImageElement).alt));

/** The colour name nearest to the centre pixel of each of the first `n` thumbnails, as drawn. */
async function thumbnailColours(page: Page, n: number): Promise<string[]> {
  await page.waitForFunction(
    (count) => [...document.querySelectorAll<HTMLImageElement>('.tile img')].slice(0, count).every((i) => i.complete && i.naturalWidth > 0),
    n,
  );
  const centres = await page.$$eval(
    '.tile img',
    (imgs, count) =>
      imgs.slice(0, count).map((img) => {
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = 1;
        const image = img as HTMLImageElement;
        canvas.getContext('2d')!.drawImage(image, image.naturalWidth / 2, image.naturalHeight / 2, 1, 1, 0, 0, 1, 1);
        return [...canvas.getContext('2d')!.getImageData(0, 0, 1, 1).data.slice(0, 3)];
      }),
    n,
  );
  return centres.map((rgb) => nearestColour(rgb as [number, number, number]));
}

function nearestColour(rgb: [number, number, number]): string {
  let best = '';
  let bestDistance = Infinity;
  for (const [name, ref] of Object.entries(COLOURS)) {
    const d = (rgb[0] - ref[0]) ** 2 + (rgb[1] - ref[1]) ** 2 + (rgb[2] - ref[2]) ** 2;
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

async function search(page: Page, base: string, query: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.fill('#q', query);
  await page.press('#q', 'Enter');
  await page.waitForURL(`${base}/?q=${encodeURIComponent(query)}`);
  await page.waitForSelector('.tile');
}

test('searching "red" shows the red thumbnails first, in rank order with scores', async () => {
  const page = await newPage();
  await search(page, gallery.url, 'red');
  const api = (await rawGet(gallery.url, '/api/search?q=red&k=60')).json() as { results: { id: number; path: string; score: number }[] };
  const ids = await page.$$eval('.tile', (tiles) => tiles.map((t) => Number((t as HTMLElement).dataset.id)));
  assert.deepEqual(
    ids,
    api.results.map((r) => r.id),
    'the page shows the API ranking, in order',
  );
  const names = await tileNames(page);
  assert.ok(
    names.slice(0, PER_COLOUR).every((n) => n.startsWith('red-')),
    names.join(' '),
  );
  const colours = await thumbnailColours(page, PER_COLOUR);
  assert.deepEqual(colours.slice(0, PER_COLOUR), Array(PER_COLOUR).fill('red'), 'what the thumbnails show');
  assert.equal(names.length, PER_COLOUR, 'the matches: the red photos, and only them');
  const captions = await page.$$eval('.caption .line:first-child', (cs) => cs.slice(0, 3).map((c) => c.textContent));
  assert.match(captions[0]!, /^1red-\d+\.jpg1\.000$/);
  assert.equal(await page.inputValue('#q'), 'red');
  assert.equal(await page.title(), 'red — picsift');
  assert.match((await page.textContent('#status'))!, /72 images · 72 embedded · 0 pending · 0 failed/);
  await done(page);
});

test('clicking a thumbnail opens the photo large with its metadata; arrows step through; Esc closes', async () => {
  const page = await newPage();
  await search(page, gallery.url, 'blue');
  const names = await tileNames(page);
  await page.click('.tile >> nth=0');
  await page.waitForSelector('#viewer[open]');
  assert.equal(await page.textContent('#viewer-title'), names[0]);
  await page.waitForFunction(() => document.querySelector('#viewer-meta')?.textContent?.includes('Camera'));
  const meta = (await page.textContent('#viewer-meta'))!;
  assert.ok(meta.includes(join(work, 'photos', names[0])), meta);
  assert.match(meta, /Size\d+ KB · \d+ × 72 · JPG/);
  assert.match(meta, /Takenunknown/);
  await page.waitForFunction(() => (document.querySelector('#viewer-img') as HTMLImageElement).src.includes('size=large'));
  const shown = await page.$eval('#viewer-img', (img) => (img as HTMLImageElement).getBoundingClientRect().width);
  assert.ok(shown > 400, `the photo is shown large (${shown} px)`);

  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((name) => document.querySelector('#viewer-title')?.textContent === name, names[1]);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#viewer', { state: 'hidden' });
  // The dialog hides at once; its 'close' event, which moves focus, is a queued task.
  await page
    .waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.index === '1', undefined, { timeout: 5000 })
    .catch(() => undefined);
  assert.equal(
    await page.evaluate(() => (document.activeElement as HTMLElement).dataset.index),
    '1',
    'focus returns to the photo last shown',
  );
  await done(page);
});

test('"More like this" lists the photo\'s neighbours at a shareable URL; Back returns to the search', async () => {
  const page = await newPage();
  await search(page, gallery.url, 'red');
  const first = await page.$eval('.tile', (t) => ({ id: (t as HTMLElement).dataset.id, name: t.querySelector('img')!.alt }));
  await page.click('.tile >> nth=0');
  await page.waitForSelector('#viewer[open]');
  await page.waitForSelector('#like:not([disabled])');
  await page.click('#like');
  await page.waitForURL(`${gallery.url}/?like=${first.id}`);
  await page.waitForFunction((name) => document.querySelector('#heading')?.textContent?.includes(name), first.name);
  await page.waitForFunction((n) => document.querySelectorAll('.tile').length >= n, PER_COLOUR - 1);
  const ids = await page.$$eval('.tile', (tiles) => tiles.map((t) => (t as HTMLElement).dataset.id));
  assert.ok(!ids.includes(first.id), 'the photo itself is not among its neighbours');
  assert.deepEqual(await thumbnailColours(page, PER_COLOUR - 1), Array(PER_COLOUR - 1).fill('red'));
  assert.ok((await tileNames(page)).slice(0, PER_COLOUR - 1).every((n) => n.startsWith('red-')));

  await page.goBack();
  await page.waitForURL(`${gallery.url}/?q=red`);
  await page.waitForFunction(() => document.querySelectorAll('.tile').length > 0 && !document.querySelector('#heading:not([hidden])'));
  assert.equal(await page.inputValue('#q'), 'red');

  // The URL alone brings the same view back.
  await page.goto(`${gallery.url}/?like=${first.id}`);
  await page.waitForSelector('.tile');
  assert.equal((await tileNames(page))[0].slice(0, 4), 'red-');
  await done(page);
});

test('keyboard only: Enter searches, arrows move between results, Enter opens, Esc closes, / returns to the box', async () => {
  const page = await newPage();
  await page.goto(`${gallery.url}/`);
  await page.keyboard.type('green'); // the box has focus on arrival
  await page.keyboard.press('Enter');
  await page.waitForSelector('.tile');
  const focused = () => page.evaluate(() => Number((document.activeElement as HTMLElement).dataset.index ?? -1));
  const columns = await page.$$eval(
    '.tile',
    (tiles) => tiles.filter((t) => t.getBoundingClientRect().top === tiles[0].getBoundingClientRect().top).length,
  );
  assert.ok(columns > 1);
  await page.keyboard.press('ArrowDown');
  assert.equal(await focused(), 0);
  await page.keyboard.press('ArrowRight');
  assert.equal(await focused(), 1);
  await page.keyboard.press('ArrowDown');
  assert.equal(await focused(), 1 + columns);
  await page.keyboard.press('ArrowLeft');
  assert.equal(await focused(), columns);
  await page.keyboard.press('ArrowUp');
  assert.equal(await focused(), 0);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#viewer[open]');
  assert.equal(await page.textContent('#viewer-title'), (await tileNames(page))[1]);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#viewer', { state: 'hidden' });
  assert.equal(await focused(), 1);
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'q');
  await done(page);
});

test('Refine: "also" terms and filters narrow the grid, live in the address, and survive a reload', async () => {
  const page = await newPage();
  await page.goto(`${gallery.url}/`);
  await page.fill('#q', 'red');
  await page.click('#refine summary');
  await page.fill('#r-add', 'blue');
  await page.fill('#r-minWidth', '102'); // photos are 96 + i pixels wide: i ≥ 6 of each colour
  await page.press('#r-minWidth', 'Enter');
  await page.waitForURL(`${gallery.url}/?q=red&add=blue&minWidth=102`);
  await page.waitForSelector('.tile');
  const api = (await rawGet(gallery.url, '/api/search?q=red&add=blue&minWidth=102&k=60')).json() as {
    results: { id: number; path: string }[];
  };
  const ids = await page.$$eval('.tile', (tiles) => tiles.map((t) => Number((t as HTMLElement).dataset.id)));
  assert.deepEqual(
    ids,
    api.results.map((r) => r.id),
    'the page shows the API ranking for the same refinements',
  );
  const names = await tileNames(page);
  assert.equal(names.length, 6 * 2, `only the red and the blue ones match: ${names.join(' ')}`);
  assert.ok(
    names.every((n) => Number(/-(\d+)\.jpg$/.exec(n)![1]) >= 6),
    `only photos at least 102 px wide: ${names.join(' ')}`,
  );
  assert.deepEqual(
    names
      .slice(0, 12)
      .map((n) => n.split('-')[0])
      .sort(),
    [...Array(6).fill('blue'), ...Array(6).fill('red')],
  );

  await page.reload();
  await page.waitForSelector('.tile');
  assert.equal(await page.inputValue('#r-minWidth'), '102');
  assert.equal(await page.inputValue('#r-add'), 'blue');
  assert.equal(await page.$eval('#refine', (d) => (d as HTMLDetailsElement).open), true, 'the panel opens when refinements are set');

  // Typing a folder path ("/" included) stays in the field; a folder with no photos gives no results.
  await page.click('#r-path');
  await page.keyboard.type('/nowhere/at/all');
  assert.equal(await page.inputValue('#r-path'), '/nowhere/at/all');
  await page.press('#r-path', 'Enter');
  await page.waitForURL(/path=%2Fnowhere%2Fat%2Fall/);
  await page.waitForFunction(() => document.querySelector('#notice')?.textContent === 'No results.');
  assert.equal((await tileNames(page)).length, 0);

  await page.click('#r-clear');
  await page.waitForURL(`${gallery.url}/?q=red`);
  await page.waitForSelector('.tile');
  assert.equal((await tileNames(page)).length, PER_COLOUR);
  await done(page);
});

test('scrolling down loads the next page of results', async () => {
  const page = await newPage();
  // The whole ranking (all=1): more than one page.
  await page.goto(`${gallery.url}/?q=yellow&all=1`);
  await page.waitForSelector('.tile');
  assert.equal(await page.locator('.tile').count(), 60);
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.waitForFunction((all) => document.querySelectorAll('.tile').length === all, 6 * PER_COLOUR);
  const ids = await page.$$eval('.tile', (tiles) => tiles.map((t) => (t as HTMLElement).dataset.id));
  assert.equal(new Set(ids).size, ids.length, 'no photo twice');
  await page.waitForSelector('#more', { state: 'hidden' }); // nothing more to load
  const ranks = await page.$$eval('.caption .rank', (rs) => rs.map((r) => Number(r.textContent)));
  assert.deepEqual(
    ranks,
    ranks.map((_, i) => i + 1),
  );
  await done(page);
});

test('a shared link opens its search', async () => {
  const page = await newPage({ width: 390, height: 844 });
  await page.goto(`${gallery.url}/?q=black`);
  await page.waitForSelector('.tile');
  assert.equal(await page.inputValue('#q'), 'black');
  assert.deepEqual(await thumbnailColours(page, 6), Array(6).fill('black'));
  await done(page);
});

test('an empty library says so, plainly', async () => {
  const page = await newPage();
  await page.goto(`${empty.url}/`);
  await page.waitForSelector('#notice:not([hidden])');
  assert.match((await page.textContent('#notice'))!, /This library is empty: .*empty\. Add photos with picsift --library .*empty index/);
  assert.match((await page.textContent('#status'))!, /^0 images · 0 embedded · 0 pending · 0 failed$/);
  await page.fill('#q', 'red');
  await page.press('#q', 'Enter');
  await page.waitForURL(`${empty.url}/?q=red`);
  await page.waitForTimeout(200);
  assert.equal(await page.locator('.tile').count(), 0);
  assert.match((await page.textContent('#notice'))!, /This library is empty/);
  await done(page);
});

test('a library that is still embedding says so', async () => {
  const page = await newPage();
  await page.goto(`${embedding.url}/?q=red`);
  await page.waitForSelector('#notice:not([hidden])');
  assert.match((await page.textContent('#notice'))!, /Still embedding: none of the 72 images is searchable yet/);
  assert.match((await page.textContent('#status'))!, /72 images · 0 embedded · 72 pending · 0 failed/);
  await done(page);
});

test('with a token, a ?token= link opens the gallery and the address bar forgets the token', async () => {
  const page = await newPage();
  await page.goto(`${guarded.url}/?q=red&token=${TOKEN}`);
  await page.waitForSelector('.tile');
  assert.equal(page.url(), `${guarded.url}/?q=red`, 'the token is not left in history or bookmarks');
  assert.deepEqual(await thumbnailColours(page, 3), ['red', 'red', 'red'], 'thumbnails load through the cookie');
  await page.goto(`${guarded.url}/?q=blue`);
  await page.waitForSelector('.tile');
  assert.deepEqual(await thumbnailColours(page, 3), ['blue', 'blue', 'blue']);
  await done(page);

  const context = await browser.newContext();
  const stranger = await context.newPage();
  const response = await stranger.goto(`${guarded.url}/?q=red`);
  assert.equal(response?.status(), 401);
  assert.match((await stranger.textContent('body')) ?? '', /needs its token/);
  await context.close();
});

test('the cut-off: the matches first, "Show weaker results" adds the rest, dimmed below a line, and back', async () => {
  const page = await newPage();
  await search(page, gallery.url, 'red');
  assert.equal(await page.locator('.tile').count(), PER_COLOUR);
  const summary = (await page.textContent('#summary'))!;
  assert.match(summary, /^12 matches · matches score at least 0\.\d{3} \(adapted to this search\)$/);
  assert.match((await page.getAttribute('#summary', 'title'))!, /cosine similarity/);
  assert.match((await page.getAttribute('.caption .score', 'title'))!, /^Similarity 1\.000: .* A match: matches score at least 0\.\d{3}/);
  await page.click('#weaker');
  await page.waitForURL(`${gallery.url}/?q=red&all=1`);
  await page.waitForFunction(() => document.querySelectorAll('.tile').length === 60);
  assert.equal(await page.locator('.tile.weaker').count(), 60 - PER_COLOUR);
  // The line sits between the last match and the first weaker result.
  const order = await page.$$eval('#results > li', (lis) =>
    lis.map((li) => (li.classList.contains('divider') ? 'line' : li.querySelector('.weaker') ? 'weak' : 'match')),
  );
  assert.deepEqual(order.slice(0, PER_COLOUR + 2), [...Array(PER_COLOUR).fill('match'), 'line', 'weak']);
  assert.match((await page.textContent('.divider'))!, /^Weaker results, below the cut-off \(0\.\d{3}\)$/);
  assert.match((await page.textContent('#summary'))!, /^12 matches and 48 weaker results/);
  assert.match((await page.getAttribute('.tile.weaker .score', 'title'))!, /Below the cut-off/);
  await page.click('#weaker'); // now "Show matches only"
  await page.waitForURL(`${gallery.url}/?q=red`);
  await page.waitForFunction((n) => document.querySelectorAll('.tile').length === n, PER_COLOUR);
  await done(page);
});

test('the sort toggle orders the matches by date taken, under a heading per month, and stays in the address', async () => {
  const page = await newPage();
  await search(page, gallery.url, 'red');
  await page.click('button[data-sort="newest"]');
  await page.waitForURL(`${gallery.url}/?q=red&sort=newest`);
  await page.waitForSelector('.month');
  const months = await page.$$eval('.month h2', (hs) => hs.map((h) => h.textContent));
  assert.deepEqual(months, [
    'December 2020',
    'November 2020',
    'October 2020',
    'September 2020',
    'August 2020',
    'July 2020',
    'June 2020',
    'May 2020',
    'April 2020',
    'March 2020',
    'February 2020',
    'January 2020',
  ]);
  assert.deepEqual(
    await tileNames(page),
    Array.from({ length: PER_COLOUR }, (_, i) => `red-${PER_COLOUR - 1 - i}.jpg`),
  );
  assert.equal(await page.getAttribute('button[data-sort="newest"]', 'aria-pressed'), 'true');
  // Each heading is followed by the photo of its month.
  const pairs = await page.$$eval('#results > li', (lis) =>
    lis.map((li) => li.querySelector('h2')?.textContent ?? li.querySelector('.date')?.textContent),
  );
  assert.deepEqual(pairs.slice(0, 4), ['December 2020', '2020-12-15', 'November 2020', '2020-11-15']);

  await page.click('button[data-sort="oldest"]');
  await page.waitForURL(`${gallery.url}/?q=red&sort=oldest`);
  await page.waitForFunction(() => document.querySelector('.month h2')?.textContent === 'January 2020');
  assert.equal((await tileNames(page))[0], 'red-0.jpg');
  await page.reload();
  await page.waitForSelector('.tile');
  assert.equal(await page.getAttribute('button[data-sort="oldest"]', 'aria-pressed'), 'true');
  await page.click('button[data-sort="score"]');
  await page.waitForURL(`${gallery.url}/?q=red`);
  await page.waitForFunction(() => document.querySelectorAll('.tile').length > 0 && document.querySelectorAll('.month').length === 0);
  await done(page);
});

test('a bad parameter in the address shows the server’s message, not "No results."', async () => {
  const page = await newPage();
  page.on('console', () => {}); // the refused request is logged by the browser as a failed load
  for (const [query, message] of [
    ['after=tomorrow', /^The server refused this search: after must be a date like 2021-06-05/],
    ['sort=sideways', /^The server refused this search: querystring\/sort must be equal to one of the allowed values/],
    ['minWidth=wide', /^The server refused this search: minWidth must be a whole number/],
  ] as const) {
    await page.goto(`${gallery.url}/?q=red&${query}`);
    await page.waitForSelector('#notice.error');
    // The status arrives meanwhile and must not replace the message.
    await page.waitForFunction(() => /images/.test(document.querySelector('#status')?.textContent ?? ''));
    assert.match((await page.textContent('#notice'))!, message, query);
    assert.equal(await page.locator('.tile').count(), 0);
  }
  await page.context().close();
});

test('every tile names its file, its folder and its date, on a laptop and on a phone', async () => {
  for (const viewport of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    const page = await newPage(viewport);
    await page.goto(`${gallery.url}/?q=red&sort=oldest`);
    await page.waitForSelector('.tile');
    const first = await page.$eval('.tile', (tile) => {
      const part = (selector: string) => {
        const el = tile.querySelector(selector) as HTMLElement;
        return { text: el.textContent, width: el.getBoundingClientRect().width };
      };
      return { name: part('.name'), folder: part('.folder'), date: part('.date'), title: (tile as HTMLElement).title };
    });
    assert.equal(first.name.text, 'red-0.jpg');
    assert.equal(first.folder.text, 'photos');
    assert.equal(first.date.text, '2020-01-15');
    for (const part of [first.name, first.folder, first.date])
      assert.ok(part.width > 10, `${JSON.stringify(part)} is shown at ${viewport.width} px`);
    assert.equal(first.title, join(work, 'photos', 'red-0.jpg'));
    await done(page);
  }
});

test('a Hebrew query on the English-only model runs, and the page says so and names a multilingual model', async () => {
  const page = await newPage();
  await page.goto(`${gallery.url}/?q=${encodeURIComponent('אדום')}`);
  await page.waitForSelector('#notice.language');
  const text = (await page.textContent('#notice'))!;
  assert.match(text, /This model cannot read this query well\. The library's model .*color-clip reads English only/);
  assert.match(text, /onnx-community\/siglip2-base-patch16-224-ONNX/);
  assert.match(text, /picsift reembed --model onnx-community\/siglip2-base-patch16-224-ONNX --switch/);
  await done(page);
});
