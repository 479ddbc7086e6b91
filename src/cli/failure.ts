// How a command that fails ends: one line naming what went wrong and the fix
// (every error picsift raises is written that way), exit status 1, and a stack
// trace only when --verbose asks for one.
import { safeText } from './reporter.js';

export function reportFailure(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`picsift: ${safeText(message.split('\n')[0])}\n`);
  if (process.argv.includes('--verbose') && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
}
