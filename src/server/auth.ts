// Who may talk to the server. On a loopback address only this machine can, so no
// token is needed, but requests must name a loopback host (a web page whose domain
// re-resolves to 127.0.0.1, "DNS rebinding", would otherwise read the API). Any
// other address needs --token, and then every request must carry it: as a Bearer
// header (API clients), ?token= (a link), or the cookie set when ?token= is used,
// which is what lets <img> tags and the page's own requests through.
// The checks run in preValidation: after the rate limiter (onRequest), so that
// guessing is rate limited, and before validation, so that a stranger learns
// nothing about the API from its error messages.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** URL- and cookie-safe characters only, so the token survives ?token= and Set-Cookie unescaped. */
const TOKEN_SHAPE = /^[A-Za-z0-9._~-]{16,256}$/;
const COOKIE_MAX_AGE_S = 30 * 24 * 3600;

export function isLoopbackAddress(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare === '::ffff:127.0.0.1';
}

/** Refuses a non-loopback bind without a token, and tokens that are easy to guess or mangle. */
export function checkBindPolicy(host: string, token: string | undefined): void {
  if (token !== undefined && !TOKEN_SHAPE.test(token)) {
    throw new Error('--token must be 16 to 256 characters from A-Z a-z 0-9 . _ ~ - (e.g. --token "$(openssl rand -hex 16)")');
  }
  if (token === undefined && !isLoopbackAddress(host)) {
    throw new Error(
      `refusing to listen on ${host} without --token: anyone who can reach this machine could browse your photos. ` +
        'Pass a secret with --token "$(openssl rand -hex 16)" and open the printed link, or keep the default --host 127.0.0.1.',
    );
  }
}

/** The host part of a Host header ("[::1]:7878" → "[::1]", "localhost:80" → "localhost"). */
function hostName(header: string): string {
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.replace(/:\d*$/, '');
}

function sameSecret(presented: string, token: string): boolean {
  // Hashing first gives equal lengths, as timingSafeEqual needs, without leaking the token's length.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Requests that another web page makes in the user's browser (a link, an image,
 * a script's fetch) are refused: the API is for this server's own page and for
 * programs. Browsers say where a request comes from in Sec-Fetch-Site (and in
 * Origin for scripts); programs send neither. Without this, any page the user
 * visits could make the server walk the library (duplicates) again and again.
 */
function refuseCrossSite(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new HttpError(403, `cross-site request refused (Sec-Fetch-Site: ${site}): the API answers this server's own page and programs`);
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {
      // An unreadable Origin is refused below.
    }
    if (host === null || host !== request.headers.host) {
      throw new HttpError(403, `cross-origin request refused (Origin: ${origin}): the API answers this server's own page and programs`);
    }
  } else if (origin === 'null') {
    throw new HttpError(403, "cross-origin request refused (Origin: null): the API answers this server's own page and programs");
  }
}

export function installAccessControl(app: FastifyInstance, token: string | undefined): void {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (request.url.startsWith('/api/')) refuseCrossSite(request);
  });
  if (token === undefined) {
    app.addHook('preValidation', async (request: FastifyRequest) => {
      const host = request.headers.host;
      if (host !== undefined && !isLoopbackAddress(hostName(host))) {
        throw new HttpError(403, `this server answers only to localhost, not to host "${hostName(host)}"`);
      }
    });
    return;
  }

  // Cookies are shared by every port of a host, so each server gets its own name.
  const cookieName = (): string => {
    const address = app.server.address();
    return `picsift_token_${typeof address === 'object' && address ? address.port : 'default'}`;
  };

  app.addHook('preValidation', async (request: FastifyRequest, reply: FastifyReply) => {
    const authorization = request.headers.authorization;
    const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    const fromQuery = (request.query as Record<string, unknown> | undefined)?.token;
    const fromCookie = cookieValue(request.headers.cookie, cookieName());
    const presented = bearer ?? (typeof fromQuery === 'string' ? fromQuery : undefined) ?? fromCookie;
    if (presented === undefined || !sameSecret(presented, token)) {
      void reply.header('www-authenticate', 'Bearer realm="picsift"');
      throw new HttpError(
        401,
        presented === undefined
          ? 'this server needs its token: send "Authorization: Bearer TOKEN", or open /?token=TOKEN once in the browser'
          : 'wrong token',
      );
    }
    if (typeof fromQuery === 'string' && fromCookie !== token) {
      void reply.header('set-cookie', `${cookieName()}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${COOKIE_MAX_AGE_S}`);
    }
  });
}
