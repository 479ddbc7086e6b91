// The HTTP API over real HTTP: a library indexed by the real CLI with the honest
// color-clip model, a listening server, and requests sent byte for byte as
// written (so traversal attempts reach the server un-normalised).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, Option } from 'commander';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import sharp from 'sharp';
import { registerServeCommand } from '../src/cli/serve-command.js';
import { buildApp } from '../src/server/app.js';
import { startServer, type RunningServer } from '../src/server/serve.js';
import { IndexSource } from '../src/app/index-source.js';
import { openLibrary } from '../src/app/library.js';
import { ModelLoader } from '../src/app/model-loader.js';
import { SearchService } from '../src/app/search-service.js';
import { libraryStatus } from '../src/app/status.js';
import { indexWithCli, rawGet, serve, writeColourPhotos } from './server-fixture.js';
import { COLOURS, models, runCli, writeSolidJpeg } from './support.js';

const work = mkdtempSync(join(tmpdir(), 'picsift-api-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const photos = join(work, 'photos');
const library = join(work, 'library');
const TOKEN = 'test-token-0123456789abcdef';

let server: RunningServer;
let base: string;
/** Catalogue ids by file name. */
const ids: Record<string, number> = {};

/** 120×60 pixels, left half red, right half blue, EXIF orientation 6 ("rotate 90° clockwise"), camera and date set. */
async function writeRotatedExifPhoto(path: string): Promise<void> {
  const [w, h] = [120, 60];
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) raw.set(i % w < w / 2 ? COLOURS.red : COLOURS.blue, i * 3);
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .withExif({
      IFD0: { Make: 'PicsiftCam', Model: 'Model 7' },
      IFD2: { DateTimeOriginal: '2021:06:05 14:03:09', OffsetTimeOriginal: '+02:00' },
    })
    .withMetadata({ orientation: 6 })
    .jpeg()
    .toFile(path);
}

/** The catalogue id of a file, looked up the way the server does. */
async function idOf(path: string): Promise<number> {
  for (let id = 1; id <= 500; id++) if ((await server.search.imageRecord(id))?.path === path) return id;
  throw new Error(`${path} is not catalogued`);
}

const get = (path: string, headers: Record<string, string> = {}) => rawGet(base, path, headers);

function assertJsonError(r: Awaited<ReturnType<typeof rawGet>>, status: number, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, what);
  const body = r.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['error'], what);
  assert.equal(typeof body.error, 'string', what);
  assert.doesNotMatch(r.text, /\bat .*\.js:\d+|node:internal|stack/, `${what} leaks a stack trace`);
}

before(async () => {
  await writeColourPhotos(photos, 3);
  await writeRotatedExifPhoto(join(photos, 'rotated.jpg'));
  await writeSolidJpeg(join(photos, 'victim.jpg'), COLOURS.green, 80, 60);
  await sharp({ create: { width: 50, height: 40, channels: 4, background: { r: 245, g: 225, b: 30, alpha: 1 } } })
    .png()
    .toFile(join(photos, 'yellow.png'));
  // A JPEG signature and then nothing decodable: registered, then recorded as failed.
  writeFileSync(join(photos, 'broken.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)]));
  await indexWithCli(library, photos);
  server = await startServer({ library, host: '127.0.0.1', port: 0 });
  base = server.url;
  for (const name of readdirSync(photos)) ids[name] = await idOf(join(photos, name));
});

after(() => server?.close());

describe('search', () => {
  test('GET /api/search?q=red&k=5 returns the red photos, shaped like search-text --json plus a thumbnail', async () => {
    // all=1: the five best whatever the cut-off (the fourth is only half red).
    const r = await get('/api/search?q=red&k=5&all=1');
    assert.equal(r.status, 200, r.text);
    const body = r.json() as { query: string; model: string; results: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(body), ['query', 'model', 'cutoff', 'matches', 'weaker', 'sort', 'results']);
    assert.equal(body.query, 'red');
    assert.equal(body.model, models.colorClip);
    assert.equal(body.results.length, 5);
    body.results.forEach((hit, i) => {
      assert.deepEqual(Object.keys(hit), ['rank', 'id', 'path', 'score', 'date', 'match', 'thumbnail']);
      assert.equal(hit.rank, i + 1);
      assert.equal(hit.thumbnail, `/api/images/${hit.id}/thumbnail`);
    });
    // The three solid red photos, then the photo that is half red.
    assert.deepEqual(
      body.results
        .slice(0, 3)
        .map((h) => String(h.path).slice(photos.length + 1))
        .sort(),
      ['red-0.jpg', 'red-1.jpg', 'red-2.jpg'],
    );
    assert.equal(body.results[3].path, join(photos, 'rotated.jpg'));

    // Exactly what the CLI answers, apart from the thumbnail URL.
    const cli = await runCli(['--library', library, 'search-text', 'red', '--json', '-n', '5', '--all']);
    assert.equal(cli.code, 0, cli.stderr);
    const expected = JSON.parse(cli.stdout) as typeof body;
    assert.deepEqual(
      body.results.map(({ thumbnail: _, ...rest }) => rest),
      expected.results,
    );
  });

  test('k defaults to 20 and may be 1000; q of 500 characters is accepted', async () => {
    assert.equal(((await get('/api/search?q=blue&all=1')).json() as { results: unknown[] }).results.length, 20);
    const all = (await get('/api/search?q=blue&k=1000&all=1')).json() as { results: unknown[] };
    assert.equal(all.results.length, (await libraryStatus(server.library.catalog, server.library.paths)).embedded);
    assert.equal((await get(`/api/search?q=${'b'.repeat(500)}&k=1`)).status, 200);
  });

  test('invalid search parameters are 400 with a JSON error', async () => {
    for (const query of [
      '',
      '?k=5',
      '?q=',
      '?q=%20%20',
      `?q=${'x'.repeat(501)}`,
      '?q=red&k=0',
      '?q=red&k=1001',
      '?q=red&k=abc',
      '?q=red&k=1.5',
      '?q=red&k=-3',
    ]) {
      assertJsonError(await get(`/api/search${query}`), 400, `/api/search${query}`);
    }
    assert.match(((await get(`/api/search?q=${'x'.repeat(501)}`)).json() as { error: string }).error, /500/);
    assert.match(((await get('/api/search?q=red&k=1001')).json() as { error: string }).error, /1000/);
  });

  test('GET /api/similar/:id returns the nearest images to its own vector, without itself', async () => {
    const id = ids['red-1.jpg'];
    const r = await get(`/api/similar/${id}?k=3&all=1`);
    assert.equal(r.status, 200, r.text);
    const body = r.json() as { id: number; model: string; results: { rank: number; id: number; path: string }[] };
    assert.deepEqual(Object.keys(body), ['id', 'model', 'cutoff', 'matches', 'weaker', 'sort', 'results']);
    assert.equal(body.id, id);
    assert.equal(body.model, models.colorClip);
    assert.deepEqual(
      body.results.map((h) => h.rank),
      [1, 2, 3],
    );
    assert.ok(!body.results.some((h) => h.id === id), 'an image is not its own neighbour');
    assert.deepEqual(
      body.results
        .slice(0, 2)
        .map((h) => h.path)
        .sort(),
      [join(photos, 'red-0.jpg'), join(photos, 'red-2.jpg')],
    );
  });

  test('similar: unknown id 404, an image without a vector 409, bad k 400', async () => {
    assertJsonError(await get('/api/similar/99999'), 404, 'unknown id');
    const failed = await get(`/api/similar/${ids['broken.jpg']}`);
    assertJsonError(failed, 409, 'failed image');
    assert.match((failed.json() as { error: string }).error, /could not be embedded/);
    assertJsonError(await get(`/api/similar/${ids['red-1.jpg']}?k=1001`), 400, 'k too large');
  });
});

describe('images', () => {
  test('GET /api/images/:id: catalogue facts, oriented size, EXIF date and camera', async () => {
    const r = await get(`/api/images/${ids['rotated.jpg']}`);
    assert.equal(r.status, 200, r.text);
    const body = r.json() as Record<string, unknown>;
    assert.deepEqual(body, {
      id: ids['rotated.jpg'],
      path: join(photos, 'rotated.jpg'),
      size: readFileSync(join(photos, 'rotated.jpg')).length,
      format: 'jpg',
      width: 60, // 120×60 stored, shown rotated
      height: 120,
      status: 'embedded',
      error: null,
      modified: body.modified,
      dateTaken: '2021-06-05T14:03:09+02:00',
      cameraMake: 'PicsiftCam',
      cameraModel: 'Model 7',
      available: true,
      thumbnail: `/api/images/${ids['rotated.jpg']}/thumbnail`,
      file: `/api/images/${ids['rotated.jpg']}/file`,
    });
    assert.ok(!Number.isNaN(Date.parse(String(body.modified))));

    const png = (await get(`/api/images/${ids['yellow.png']}`)).json() as Record<string, unknown>;
    assert.equal(png.format, 'png');
    assert.equal(png.dateTaken, null);
    assert.equal(png.cameraMake, null);

    const broken = (await get(`/api/images/${ids['broken.jpg']}`)).json() as Record<string, unknown>;
    assert.equal(broken.status, 'failed');
    assert.equal(typeof broken.error, 'string');
  });

  test('thumbnails are EXIF-oriented JPEGs, cached on disk, served with ETag and 304', async () => {
    const id = ids['rotated.jpg'];
    const r = await get(`/api/images/${id}/thumbnail`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['content-type'], 'image/jpeg');
    assert.match(String(r.headers['cache-control']), /max-age=\d+/);
    const etag = String(r.headers.etag);
    assert.match(etag, /^"[\w-]+"$/);
    // Orientation applied: portrait, red (the stored left half) on top.
    const { data, info } = await sharp(r.body).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [60, 120]);
    const pixel = (x: number, y: number) => [
      ...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3),
    ];
    assert.ok(pixel(30, 10)[0] > 180 && pixel(30, 10)[2] < 90, `top is red: ${pixel(30, 10)}`);
    assert.ok(pixel(30, 110)[2] > 180 && pixel(30, 110)[0] < 90, `bottom is blue: ${pixel(30, 110)}`);

    // On disk in the library, written atomically (no temporary file left over).
    const cached = readdirSync(join(library, 'thumbnails'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.jpg'));
    assert.ok(
      cached.some((f) => f.includes(`${id}-`)),
      `cached thumbnails: ${cached}`,
    );
    assert.ok(!readdirSync(join(library, 'thumbnails'), { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('.tmp')));

    const again = await get(`/api/images/${id}/thumbnail`, { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, etag);
    assert.equal((await get(`/api/images/${id}/thumbnail`, { 'if-none-match': '"other"' })).status, 200);

    const large = await get(`/api/images/${ids['red-0.jpg']}/thumbnail?size=large`);
    assert.equal(large.status, 200);
    assert.notEqual(large.headers.etag, (await get(`/api/images/${ids['red-0.jpg']}/thumbnail`)).headers.etag);
    assertJsonError(await get(`/api/images/${id}/thumbnail?size=huge`), 400, 'unknown size');
  });

  test('a thumbnail is no bigger than 400 px and follows edits of its photo', async () => {
    const path = join(photos, 'big.jpg');
    await writeSolidJpeg(path, COLOURS.white, 900, 500);
    await indexWithCli(library, path);
    const id = await idOf(path);
    const first = await get(`/api/images/${id}/thumbnail`);
    assert.deepEqual(
      await sharp(first.body)
        .metadata()
        .then((m) => [m.width, m.height]),
      [400, 222],
    );

    await writeSolidJpeg(path, COLOURS.black, 300, 300);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const edited = await get(`/api/images/${id}/thumbnail`, { 'if-none-match': String(first.headers.etag) });
    assert.equal(edited.status, 200, 'a changed photo gets a new thumbnail, not a 304');
    assert.notEqual(edited.headers.etag, first.headers.etag);
    assert.deepEqual(
      await sharp(edited.body)
        .metadata()
        .then((m) => [m.width, m.height]),
      [300, 300],
    );
    const versions = readdirSync(join(library, 'thumbnails', 'small'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.split('/').pop()!.startsWith(`${id}-`),
    );
    assert.equal(versions.length, 1, `the old version was removed: ${versions}`);
  });

  test('GET /api/images/:id/file sends the original bytes with its type, ETag and 304', async () => {
    const id = ids['yellow.png'];
    const r = await get(`/api/images/${id}/file`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.match(String(r.headers['content-disposition']), /^inline; filename="yellow.png"/);
    assert.deepEqual(r.body, readFileSync(join(photos, 'yellow.png')));
    const again = await get(`/api/images/${id}/file`, { 'if-none-match': String(r.headers.etag) });
    assert.equal(again.status, 304);
  });

  test('GET /api/status has the shape and values of status --json', async () => {
    const r = await get('/api/status');
    assert.equal(r.status, 200);
    const cli = await runCli(['--library', library, 'status', '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    // status --json's keys first, then what runs in the background (no watcher here; the index refresher).
    const { watch, index, ...counts } = r.json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(r.json() as object), [
      'images',
      'embedded',
      'pending',
      'failed',
      'indexed',
      'model',
      'dtype',
      'library',
      'spaces',
      'watch',
      'index',
    ]);
    assert.deepEqual(counts, JSON.parse(cli.stdout));
    assert.equal(watch, null);
    assert.equal((index as { building: boolean }).building, false);
  });

  test('a photo that cannot be decoded gets a JSON 415 instead of a thumbnail', async () => {
    const r = await get(`/api/images/${ids['broken.jpg']}/thumbnail`);
    assertJsonError(r, 415, 'broken thumbnail');
    assert.match((r.json() as { error: string }).error, /cannot make a thumbnail/);
  });

  test('unknown ids are 404 on every image route', async () => {
    for (const route of ['', '/thumbnail', '/file']) assertJsonError(await get(`/api/images/99999${route}`), 404, route);
  });
});

describe('security', () => {
  test('files are reached only by catalogue id: every traversal attempt is a 404', async () => {
    const attempts = [
      '/api/images/../../etc/passwd',
      '/api/images/../../../../../../etc/passwd',
      '/api/images/..%2f..%2fetc%2fpasswd',
      '/api/images/%2e%2e/%2e%2e/etc/passwd',
      '/api/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/api/images/%252e%252e%252fetc%252fpasswd',
      '/api/images/..%5c..%5cetc%5cpasswd',
      '/api/images/%c0%ae%c0%ae/etc/passwd',
      '/api/images/1/../../../../etc/passwd',
      '/api/images/1/file/../../../../etc/passwd',
      '/api/images/../../etc/passwd/file',
      '/api/images/..%2f..%2fetc%2fpasswd/file',
      '/api/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd/thumbnail',
      '/api/images//etc/passwd/file',
      '/api/images/%2fetc%2fpasswd/file',
      '/api/images/1%00/file',
      '/api/images/1%2f..%2f..%2fetc%2fpasswd/file',
      '/api/images/-1/file',
      '/api/images/0/file',
      '/api/images/01/file',
      '/api/images/1e0/file',
      '/api/images/0x1/file',
      '/api/images/%201/file',
      '/api/images/99999999999999999999/file',
      '/api/similar/..%2f..%2fetc%2fpasswd',
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/app.js/../../../../etc/passwd',
      '/..%2f..%2f..%2fetc%2fpasswd',
      '//etc/passwd',
      '/etc/passwd',
      '/index.html/../../package.json',
      '/src/server/public/app.js',
      '/package.json',
      '/catalog.sqlite',
      '/thumbnails/small/01/1.jpg',
      `/${encodeURIComponent(join(photos, 'red-0.jpg'))}`,
    ];
    for (const path of attempts) {
      const r = await get(path);
      assertJsonError(r, 404, path);
      assert.doesNotMatch(r.text, /root:/, path);
    }
  });

  test('a path given as a parameter is ignored: the id decides', async () => {
    const r = await get(`/api/images/${ids['yellow.png']}/file?path=/etc/passwd&file=../../etc/passwd`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, readFileSync(join(photos, 'yellow.png')));
  });

  test('a catalogued photo later replaced by a symlink out of the folder (or by a non-image) is not served', async () => {
    const victim = join(photos, 'victim.jpg');
    const id = ids['victim.jpg'];
    const outside = join(work, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'secret.txt'), 'root:x:0:0:secret\n');
    for (const [what, replace] of [
      ['symlink to /etc/passwd', () => symlinkSync('/etc/passwd', victim)],
      ['symlink to a secret outside the folder', () => symlinkSync(join(outside, 'secret.txt'), victim)],
      ['symlink to a folder', () => symlinkSync(outside, victim)],
      ['dangling symlink', () => symlinkSync(join(outside, 'nothing.jpg'), victim)],
      ['text file', () => writeFileSync(victim, 'root:x:0:0:not an image\n')],
    ] as const) {
      rmSync(victim, { force: true });
      replace();
      for (const route of ['/file', '/thumbnail', '/thumbnail?size=large']) {
        const r = await get(`/api/images/${id}${route}`);
        assertJsonError(r, 404, `${what}: ${route}`);
        assert.doesNotMatch(r.text, /root:/);
      }
      const meta = await get(`/api/images/${id}`);
      assert.equal(meta.status, 200, what);
      assert.equal((meta.json() as { available: boolean }).available, false, what);
    }
    unlinkSync(victim);
    // Back as a real image, it is served again.
    await writeSolidJpeg(victim, COLOURS.green, 80, 60);
    assert.equal((await get(`/api/images/${id}/file`)).status, 200);
  });

  test('binding anything but loopback without --token is refused, before the library is touched', async () => {
    const untouched = join(work, 'not-created');
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'example.com']) {
      await assert.rejects(startServer({ library: untouched, host, port: 0 }), /refusing to listen on .* without --token/, host);
    }
    await assert.rejects(startServer({ library: untouched, host: '0.0.0.0', port: 0, token: 'short' }), /--token must be 16/);
    assert.ok(!existsSync(untouched));

    // Through the command: the same refusal.
    const program = new Command().exitOverride().addOption(new Option('--library <dir>')).option('--model <m>').option('--dtype <d>');
    registerServeCommand(program);
    await assert.rejects(
      program.parseAsync(['--library', untouched, 'serve', '--host', '0.0.0.0', '--port', '0'], { from: 'user' }),
      /refusing to listen on 0\.0\.0\.0 without --token/,
    );
  });

  test('the picsift CLI refuses a non-loopback bind without a token', async () => {
    const r = await runCli(['--library', library, 'serve', '--host', '0.0.0.0', '--port', '0']);
    assert.equal(r.code, 1, `expected a refusal (is registerServeCommand(program) called in src/cli/main.ts?): ${r.stderr}`);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without --token/);
  });

  test('with a token, every request must carry it: Bearer header, ?token= (which sets a cookie) or the cookie', async (t) => {
    const guarded = await serve(t, { library, host: '0.0.0.0', token: TOKEN });
    const url = guarded.url.replace('0.0.0.0', '127.0.0.1');
    const at = (path: string, headers: Record<string, string> = {}) => rawGet(url, path, headers);
    for (const path of [
      '/',
      '/app.js',
      '/api/status',
      '/api/search?q=red',
      `/api/images/${ids['red-0.jpg']}/thumbnail`,
      '/api/openapi.json',
      '/nope',
      '/api/images/../../etc/passwd',
    ]) {
      const r = await at(path);
      assertJsonError(r, 401, path);
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      assertJsonError(await at(path, { authorization: 'Bearer wrong-token-0123456789' }), 401, `${path} wrong token`);
      assertJsonError(await at(`${path}${path.includes('?') ? '&' : '?'}token=wrong`), 401, `${path} wrong ?token=`);
    }
    assert.equal((await at('/api/status', { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await at(`/api/images/${ids['red-0.jpg']}/thumbnail?token=${TOKEN}`)).status, 200);

    const page = await at(`/?q=red&token=${TOKEN}`);
    assert.equal(page.status, 200);
    const cookie = String(page.headers['set-cookie']);
    assert.match(cookie, /^picsift_token_\d+=/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    const sent = cookie.split(';')[0];
    assert.equal((await at('/api/search?q=red', { cookie: `other=1; ${sent}` })).status, 200);
    assert.equal((await at('/api/status', { cookie: sent.replace(/=.*/, '=wrong') })).status, 401);
    // Traversal is still a 404 for someone who has the token.
    assertJsonError(await at('/api/images/../../etc/passwd', { authorization: `Bearer ${TOKEN}` }), 404, 'traversal with token');
  });

  test('without a token, only loopback host names are answered (DNS rebinding)', async () => {
    assertJsonError(await get('/api/status', { host: 'evil.example:7878' }), 403, 'foreign Host');
    assertJsonError(await get('/', { host: '192.168.1.20' }), 403, 'LAN address as Host');
    for (const host of ['localhost:7878', '127.0.0.1:7878', '[::1]:7878', 'localhost']) {
      assert.equal((await get('/api/status', { host })).status, 200, host);
    }
  });

  test('requests are rate limited, searches more tightly, wrong tokens too', async (t) => {
    const limited = await serve(t, { library, rateLimits: { requestsPerMinute: 8, searchesPerMinute: 2 } });
    const at = (path: string, headers: Record<string, string> = {}) => rawGet(limited.url, path, headers);
    assert.equal((await at('/api/search?q=red')).status, 200);
    assert.equal((await at(`/api/similar/${ids['black-0.jpg']}`)).status, 200);
    const third = await at('/api/search?q=red');
    assertJsonError(third, 429, 'third search');
    assert.ok(Number(third.headers['retry-after']) > 0);
    for (let i = 0; i < 8; i++) assert.equal((await at('/api/status')).status, 200);
    assertJsonError(await at('/api/status'), 429, 'ninth request');
    assertJsonError(await at('/no-such-page'), 429, '404s count too');

    const guarded = await serve(t, { library, token: TOKEN, rateLimits: { requestsPerMinute: 3, searchesPerMinute: 3 } });
    for (let i = 0; i < 3; i++) assert.equal((await rawGet(guarded.url, `/api/status?token=guess${i}`)).status, 401);
    assertJsonError(await rawGet(guarded.url, `/api/status?token=${TOKEN}`), 429, 'guessing the token is limited');
    for (let i = 0; i < 3; i++) assert.equal((await rawGet(guarded.url, `/api/search?q=red&token=guess${i}`)).status, 401);
    assertJsonError(await rawGet(guarded.url, `/api/search?q=red&token=${TOKEN}`), 429, 'also through the search routes');
  });

  test('server errors are a JSON message, never a stack trace', async (t) => {
    const opened = await openLibrary({ library });
    const search = new SearchService(
      opened.catalog,
      new IndexSource(opened.paths.index, opened.catalog),
      new ModelLoader(opened.paths, () => {}),
      {},
    );
    const logged: string[] = [];
    const logStream = new Writable({ write: (chunk, _encoding, done) => done(void logged.push(String(chunk))) });
    const app = await buildApp({ library: opened, search, logLevel: 'error', logStream });
    t.after(() => app.close());
    await opened.catalog.close(); // every catalogue call now throws
    const r = await app.inject({ method: 'GET', url: '/api/status' });
    assert.equal(r.statusCode, 500);
    assert.deepEqual(r.json(), { error: 'internal server error' });
    assert.equal(logged.length, 1);
    assert.match(logged[0], /"level":50.*request failed/);
  });

  test('responses carry a strict Content-Security-Policy and nosniff', async () => {
    const r = await get('/');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    const again = await get('/', { 'if-none-match': String(r.headers.etag) });
    assert.equal(again.status, 304);
    for (const asset of ['/app.js', '/style.css', '/icon.svg']) assert.equal((await get(asset)).status, 200, asset);
  });
});

describe('serving a live library', () => {
  test('OpenAPI 3 document describes every API route and its limits', async () => {
    const r = await get('/api/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.json() as {
      openapi: string;
      paths: Record<string, Record<string, { parameters: { name: string; in: string; schema: Record<string, unknown> }[] }>>;
    };
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/api/duplicates',
      '/api/images/{id}',
      '/api/images/{id}/file',
      '/api/images/{id}/thumbnail',
      '/api/openapi.json',
      '/api/search',
      '/api/similar/{id}',
      '/api/status',
    ]);
    const search = doc.paths['/api/search'].get.parameters;
    assert.equal(search.find((p) => p.name === 'q')?.schema.maxLength, 500);
    assert.equal(search.find((p) => p.name === 'k')?.schema.maximum, 1000);
    assert.deepEqual(
      doc.paths['/api/images/{id}/file'].get.parameters.map((p) => [p.name, p.in]),
      [['id', 'path']],
    );
  });

  test('an empty library is served without a model download, and says so', async (t) => {
    const empty = await serve(t, { library: join(work, 'empty') });
    const { watch: _w, index: _i, ...status } = (await rawGet(empty.url, '/api/status')).json() as Record<string, unknown>;
    assert.deepEqual(status, {
      images: 0,
      embedded: 0,
      pending: 0,
      failed: 0,
      indexed: 0,
      model: null,
      dtype: null,
      library: join(work, 'empty'),
      spaces: [],
    });
    const search = await rawGet(empty.url, '/api/search?q=red');
    assert.equal(search.status, 200);
    assert.deepEqual((search.json() as { results: unknown[] }).results, []);
  });

  test('photos indexed while the server runs are found, and a rebuilt index is picked up', async () => {
    const more = join(work, 'more');
    mkdirSync(more);
    await writeSolidJpeg(join(more, 'late-red.jpg'), COLOURS.red, 90, 90);
    await indexWithCli(library, more);
    const body = (await get('/api/search?q=red&k=4')).json() as { results: { path: string }[] };
    assert.ok(
      body.results.some((h) => h.path === join(more, 'late-red.jpg')),
      JSON.stringify(body.results),
    );
    const rebuilt = await runCli(['--library', library, 'build-index', '--rebuild']);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    const again = (await get('/api/search?q=red&k=4')).json() as { results: { path: string }[] };
    assert.deepEqual(again.results.map((h) => h.path).sort(), body.results.map((h) => h.path).sort());
  });
});
