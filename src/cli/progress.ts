// Progress for long work: a live bar with count, rate and ETA on a terminal;
// plain periodic lines when stderr is a file or a pipe (logs, CI).
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

const LINE_INTERVAL_MS = 5000;

export function startProgress(label: string, unit: string, total: number): Progress {
  const started = Date.now();
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label} {bar} {value}/{total} | {rate} ${unit}/s | ETA {eta_formatted}`,
        etaBuffer: 50,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0' });
    return {
      update(done, newTotal) {
        if (newTotal !== undefined) bar.setTotal(newTotal);
        bar.update(done, { rate: rate(done, started) });
      },
      stop: () => bar.stop(),
    };
  }
  let lastLine = started;
  let last = 0;
  let lastTotal = total;
  const line = (): void => {
    const r = Number(rate(last, started));
    const eta = r > 0 && lastTotal > last ? ` ETA ${formatDuration((lastTotal - last) / r)}` : '';
    process.stderr.write(`${label} ${last}/${lastTotal} (${r.toFixed(1)} ${unit}/s)${eta}\n`);
  };
  return {
    update(done, newTotal) {
      last = done;
      if (newTotal !== undefined) lastTotal = newTotal;
      if (Date.now() - lastLine >= LINE_INTERVAL_MS) {
        lastLine = Date.now();
        line();
      }
    },
    stop: line,
  };
}

function rate(done: number, started: number): string {
  const seconds = (Date.now() - started) / 1000;
  return seconds > 0 ? (done / seconds).toFixed(1) : '0.0';
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
