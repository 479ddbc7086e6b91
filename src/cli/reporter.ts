// What the command line tells a person, on stderr (stdout carries results only),
// at three levels: --quiet (errors and warnings only), normal, --verbose (also
// details). File names come from the disk and may hold anything, escape
// sequences and newlines included: every line is made safe for a terminal here,
// so a hostile name can neither set the terminal's title nor split a line.

export type Verbosity = 'quiet' | 'normal' | 'verbose';

export interface Reporter {
  /** Progress and outcomes (hidden by --quiet). */
  say(line: string): void;
  /** Something the user should act on (always shown). */
  warn(line: string): void;
  /** Details for --verbose. */
  detail(line: string): void;
  readonly verbosity: Verbosity;
}

let printer: ((line: string) => void) | null = null;

/**
 * Lets a live progress bar clear its line before a message is printed and draw
 * itself again after, so messages never land on the bar.
 */
export function setLinePrinter(print: ((line: string) => void) | null): void {
  printer = print;
}

function write(line: string): void {
  const safe = safeText(line);
  if (printer) printer(safe);
  else process.stderr.write(`${safe}\n`);
}

export function createReporter(verbosity: Verbosity): Reporter {
  return {
    verbosity,
    say: (line) => {
      if (verbosity !== 'quiet') write(line);
    },
    warn: (line) => write(line),
    detail: (line) => {
      if (verbosity === 'verbose') write(line);
    },
  };
}

/**
 * Text with control characters shown as escapes (\n, \t, \x1b, \u0085 …): what
 * reaches the terminal is what a person reads, never an instruction to it.
 */
export function safeText(text: string): string {
  // C0 and C1 control characters, DEL, and the line and paragraph separators.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default: {
        const code = c.charCodeAt(0);
        return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
      }
    }
  });
}
