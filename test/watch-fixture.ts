// Shared by the watch tests and bench:watch: `picsift serve --watch` as a real
// process on a free port, colour photos prepared in memory and written into the
// watched folder as a copy would (at once, or slowly in chunks), and polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { COLOURS, repoRoot } from './support.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts bin/picsift.js with these arguments (serve, with --port 0) and resolves once it listens. */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'picsift.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const url = await new Promise<string>((resolve, reject) => {
    const look = (d: Buffer): void => {
      output += d;
      const m = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    void exited.then((code) => reject(new Error(`picsift exited (${code}) before listening:\n${output}`)));
  });
  return { child, url, output: () => output, exited };
}

export async function getJson<T = unknown>(url: string): Promise<T> {
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

export interface SearchHit {
  id: number;
  path: string;
  score: number;
}

export async function search(base: string, q: string, k: number): Promise<SearchHit[]> {
  return (await getJson<{ results: SearchHit[] }>(`${base}/api/search?q=${encodeURIComponent(q)}&k=${k}`)).results;
}

export interface Status {
  images: number;
  embedded: number;
  pending: number;
  failed: number;
  indexed: number;
  watch: {
    state: string;
    computed: number;
    reused: number;
    removed: number;
    settling: number;
    pid: number;
    run: { total: number; done: number; perSecond: number; etaSeconds: number | null } | null;
    error: string | null;
  } | null;
  index: { building: boolean; tail: number; lastBuild: object | null } | null;
}

export const status = (base: string): Promise<Status> => getJson<Status>(`${base}/api/status`);

/** Polls until `check` returns a value other than undefined, or throws after `ms` with the last state. */
export async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(every);
  }
}

export interface Photo {
  name: string;
  colour: string;
  bytes: Buffer;
}

/** `count` distinct solid-colour JPEGs, colours in turn (shades and sizes vary, so no two are identical). */
export async function colourPhotos(count: number, seed = 0): Promise<Photo[]> {
  const names = Object.keys(COLOURS);
  const photos: Photo[] = [];
  for (let i = 0; i < count; i++) {
    const colour = names[i % names.length];
    const n = Math.floor(i / names.length) + seed;
    const rgb = COLOURS[colour].map((c) => Math.max(0, Math.min(255, c + (n % 7) * 3 - 9)));
    const width = 64 + (n % 97);
    const height = 48 + (Math.floor(n / 97) % 50);
    const pixels = Buffer.alloc(width * height * 3);
    for (let p = 0; p < pixels.length; p++) pixels[p] = rgb[p % 3];
    const bytes = await sharp(pixels, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    photos.push({ name: `${colour}-${n}.jpg`, colour, bytes });
  }
  return photos;
}

/** Writes a file at once (as a quick copy does). */
export async function writeAtOnce(path: string, bytes: Buffer): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

/** Writes a file in `chunks` pieces with a pause between them (a slow copy, a sync client): half-written files must not be taken. */
export async function writeSlowly(path: string, bytes: Buffer, chunks: number, pauseMs: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    const size = Math.ceil(bytes.length / chunks);
    for (let i = 0; i < chunks; i++) {
      writeSync(fd, bytes, i * size, Math.min(size, bytes.length - i * size));
      fsyncSync(fd);
      if (i < chunks - 1) await sleep(pauseMs);
    }
  } finally {
    closeSync(fd);
  }
}
