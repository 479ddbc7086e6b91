// Ctrl-C (or SIGTERM) during long work that commits in batches: the first signal
// stops claiming new work and lets the batches in flight finish and commit; a
// second one leaves at once (every committed batch is safe either way).
import type { Reporter } from './reporter.js';

export interface Interrupt {
  /** Whether a signal came: the work stops claiming. */
  readonly requested: boolean;
  /** Stops listening (call when the work is over). */
  release(): void;
}

export function catchInterrupt(report: Reporter): Interrupt {
  const state = { requested: false };
  const onSignal = (): void => {
    if (state.requested) process.exit(130);
    state.requested = true;
    report.warn('interrupted: finishing the batches in flight (Ctrl-C again to stop now)…');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get requested() {
      return state.requested;
    },
    release: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}
