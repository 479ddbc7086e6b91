// Progress for long work: a live bar with count, rate and ETA on a terminal;
// plain periodic lines when stderr is a file or a pipe (logs, CI). The bar never
// claims what it does not know (no "0/0" or "ETA 0s" before the first batch),
// messages printed meanwhile go above it instead of onto it, and the terminal
// (cursor, line wrap) is restored on every way out, Ctrl-C included.
import cliProgress from 'cli-progress';
import { setLinePrinter } from './reporter.js';

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

const LINE_INTERVAL_MS = 5000;
/** Seconds of work before a rate (and so an ETA) means anything. */
const RATE_AFTER_S = 2;

export function startProgress(label: string, unit: string, total: number | null, quiet = false): Progress {
  const started = Date.now();
  const state = { done: 0, total };
  const figures = (final = false): { rate: string; eta: string; count: string } => {
    const seconds = (Date.now() - started) / 1000;
    const rate = (final || seconds >= RATE_AFTER_S) && state.done > 0 && seconds > 0 ? state.done / seconds : null;
    const left = state.total !== null && rate ? (state.total - state.done) / rate : null;
    return {
      rate: rate === null ? '…' : rate.toFixed(1),
      eta: left === null ? 'ETA …' : `ETA ${formatDuration(left)}`,
      count: state.total === null ? `${state.done}` : `${state.done}/${state.total}`,
    };
  };
  if (quiet) return { update: (done, t) => Object.assign(state, { done, total: t ?? state.total }), stop: () => {} };

  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: (_options, params, payload: { count: string; rate: string; eta: string }) =>
          `${label} ${state.total === null ? '' : `${barOf(params.progress)} `}${payload.count} | ${payload.rate} ${unit}/s | ${payload.eta}`,
        hideCursor: true,
        gracefulExit: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(state.total ?? 0, 0, figures());
    const restore = (): void => bar.stop();
    process.once('exit', restore);
    setLinePrinter((line) => {
      process.stderr.write(`\r\x1b[2K${line}\n`);
      (bar as unknown as { render(force: boolean): void }).render(true);
    });
    return {
      update(done, newTotal) {
        state.done = done;
        if (newTotal !== undefined) {
          state.total = newTotal;
          bar.setTotal(newTotal);
        }
        bar.update(done, figures());
      },
      stop() {
        setLinePrinter(null);
        process.removeListener('exit', restore);
        bar.update(state.done, figures(true));
        bar.stop();
      },
    };
  }
  let lastLine = started;
  const line = (final = false): void => {
    const f = figures(final);
    process.stderr.write(`${label} ${f.count} (${f.rate} ${unit}/s)${final ? '' : ` ${f.eta}`}\n`);
  };
  return {
    update(done, newTotal) {
      state.done = done;
      if (newTotal !== undefined) state.total = newTotal;
      if (Date.now() - lastLine >= LINE_INTERVAL_MS) {
        lastLine = Date.now();
        line();
      }
    },
    stop: () => {
      if (state.done > 0) line(true);
    },
  };
}

function barOf(progress: number): string {
  const width = 30;
  const full = Math.round(Math.max(0, Math.min(1, progress)) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
