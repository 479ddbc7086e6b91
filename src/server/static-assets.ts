// The web page's files, from src/server/public/ (plain HTML, CSS and JS: no build
// step). They are a fixed list read once at start and served from memory, so no
// request path ever reaches the file system: nothing to traverse, no symlink to follow.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { matchesEtag } from './image-files.js';
import { repoRoot } from '../util/repo-root.js';

export const publicDir = join(repoRoot, 'src', 'server', 'public');

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};

export function registerStaticAssets(app: FastifyInstance, dir = publicDir): void {
  for (const [url, asset] of Object.entries(ASSETS)) {
    const body = readFileSync(join(dir, asset.file));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    app.get(url, async (request, reply) => {
      // no-cache: always revalidate, so a new version of the page is picked up at once (a 304 otherwise).
      void reply.header('cache-control', 'no-cache').header('etag', etag);
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type(asset.type).send(body);
    });
  }
}
