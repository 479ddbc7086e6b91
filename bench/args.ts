// Tiny argument parsing for the benchmarks: --name value and --flag.
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) args.set(arg.slice(2), 'true');
    else args.set(arg.slice(2), argv[++i]);
  }
  return args;
}

export function numberArg(args: Map<string, string>, name: string, fallback: number): number {
  const value = args.get(name);
  if (value === undefined) return fallback;
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, not "${value}"`);
  return n;
}

export function requiredArg(args: Map<string, string>, name: string): string {
  const value = args.get(name);
  if (value === undefined || value === 'true') throw new Error(`--${name} is required`);
  return value;
}
