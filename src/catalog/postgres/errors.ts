// What a PostgreSQL error means for picsift: a connection lost (wait for the
// database and retry the whole operation), a conflict between concurrent
// transactions (retry at once), or a catalogue that cannot be opened (one line
// naming the masked URL and the fix). node-postgres reports a lost connection
// as a Node socket error (code ECONNREFUSED…), a server error (SQLSTATE 57P0x,
// class 08), or a plain Error whose message is all there is to go by.
import { maskUrl } from '../open-catalog.js';
import { CatalogUnavailableError } from '../types.js';

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EAI_AGAIN']);
/** 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, shutting down, in recovery). */
const SERVER_GONE_CODES = new Set(['57P01', '57P02', '57P03']);
const CLIENT_MESSAGES = [
  /^Connection terminated/,
  /connection error and is not queryable/,
  /^timeout expired$/,
  /^timeout exceeded when trying to connect$/,
  /^Query read timeout$/,
];

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: { code?: unknown }[] } | null;
  if (typeof e?.code === 'string') return e.code;
  // Node's connect to a name with several addresses fails with an AggregateError.
  const inner = e?.errors?.[0]?.code;
  return typeof inner === 'string' ? inner : undefined;
}

/** The connection to the database broke or could not be made: the operation may be retried whole once it answers. */
export function isConnectionLoss(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && (SOCKET_CODES.has(code) || SERVER_GONE_CODES.has(code) || code.startsWith('08'))) return true;
  const message = err instanceof Error ? err.message : '';
  if (CLIENT_MESSAGES.some((re) => re.test(message))) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== err && isConnectionLoss(cause);
}

/** 40001 serialization_failure, 40P01 deadlock_detected: the transaction lost a race and is retried whole. */
export function isTransactionConflict(err: unknown): boolean {
  const code = codeOf(err);
  return code === '40001' || code === '40P01';
}

/** Why a connection failed, in a few words, for the waiting message. */
export function reasonOf(err: unknown): string {
  const code = codeOf(err);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || /^Connection terminated/.test((err as Error)?.message ?? '')) return 'connection lost';
  if (code === '57P01' || code === '57P02') return 'the server shut down';
  if (code === '57P03') return 'the server is starting up or shutting down';
  if (/timeout/.test((err as Error)?.message ?? '')) return 'no answer in time';
  return (err as Error)?.message ?? String(err);
}

function databaseOf(url: string): string {
  try {
    const parsed = new URL(url);
    return decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres';
  } catch {
    return 'DATABASE';
  }
}

/** Why a catalogue could not be opened, as one line naming the masked URL and what to do. */
export function unavailableError(err: unknown, url: string): CatalogUnavailableError {
  const where = `catalogue ${maskUrl(url)}`;
  const code = codeOf(err);
  const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  const database = databaseOf(url);
  let message: string;
  if (code === '3D000') {
    message = `${where}: database "${database}" does not exist; create it with \`createdb ${database}\` (or CREATE DATABASE ${database}) on that server`;
  } else if (code === '28P01' || code === '28000') {
    message = `${where}: PostgreSQL refused the login (${detail}); check the user and password in the URL (or PGPASSWORD, ~/.pgpass)`;
  } else if (code === '42501') {
    message = `${where}: permission denied (${detail}); the user needs CREATE on the database's public schema, or its owner must create the catalogue first`;
  } else if (code === 'ECONNREFUSED') {
    message = `${where}: connection refused; is PostgreSQL running there, listening on that host and port?`;
  } else if (code === 'ENOTFOUND') {
    message = `${where}: host not found; check the host name in the URL`;
  } else if (isConnectionLoss(err)) {
    message = `${where}: cannot connect (${reasonOf(err)}); check that PostgreSQL is up and reachable, then try again`;
  } else {
    message = `${where}: ${detail}`;
  }
  return new CatalogUnavailableError(message, { cause: err });
}
