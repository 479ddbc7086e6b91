// Shared by the server tests: colour photo folders, libraries indexed with the real
// CLI and the color-clip model, servers on a free port, and Debian's Chromium.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type RunningServer, type ServeOptions } from '../src/server/serve.js';
import { COLOURS, models, runCli, writeSolidJpeg } from './support.js';

export const COLOUR_NAMES = Object.keys(COLOURS);

/** `perColour` solid photos of each colour, named like red-3.jpg; shades and sizes vary so that none are identical. */
export async function writeColourPhotos(dir: string, perColour: number, size: [number, number] = [96, 72]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const [name, rgb] of Object.entries(COLOURS)) {
    for (let i = 0; i < perColour; i++) {
      const shade = rgb.map((c) => Math.max(0, Math.min(255, c + (i % 5) * 4 - 8))) as [number, number, number];
      await writeSolidJpeg(join(dir, `${name}-${i}.jpg`), shade, size[0] + i, size[1]);
    }
  }
}

/** The real `picsift index` with the color-clip model. */
export async function indexWithCli(library: string, ...dirs: string[]): Promise<void> {
  const r = await runCli(['--library', library, '--model', models.colorClip, 'index', ...dirs]);
  assert.equal(r.code, 0, r.stderr);
}

/** A server on a free loopback port, closed when the test (or suite) ends. */
export async function serve(
  t: { after: (fn: () => Promise<void> | void) => void },
  options: Partial<ServeOptions> & { library: string },
): Promise<RunningServer> {
  const server = await startServer({ host: '127.0.0.1', port: 0, ...options });
  t.after(() => server.close());
  return server;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: () => unknown;
}

/**
 * An HTTP GET with the path sent exactly as written: no client-side normalisation
 * of "..", "%2e" or "//", which is what a traversal attempt looks like on the wire.
 */
export function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'GET', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Debian's Chromium (apt-get install chromium); PICSIFT_CHROMIUM points elsewhere. */
export const chromiumPath = process.env.PICSIFT_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  assert.ok(existsSync(chromiumPath), `${chromiumPath} not found: the browser tests need Chromium (apt-get install -y chromium)`);
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
