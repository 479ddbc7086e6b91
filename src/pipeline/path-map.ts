// Workers on other machines may see the photos under another mount point than
// the machine that scanned them: `--path-map FROM=TO` maps catalogue paths to
// the paths this machine reads. The catalogue always keeps the scanner's paths.

export interface PathMapping {
  from: string;
  to: string;
}

/** Parses "FROM=TO" (both absolute folders); throws naming --path-map on a bad one. */
export function parsePathMapping(spec: string): PathMapping {
  const at = spec.indexOf('=');
  const from = at > 0 ? spec.slice(0, at).replace(/\/+$/, '') : '';
  const to = at > 0 ? spec.slice(at + 1).replace(/\/+$/, '') : '';
  if (!from.startsWith('/') || !to.startsWith('/')) {
    throw new Error(`--path-map must be FROM=TO with two absolute folders (e.g. /mnt/photos=/Volumes/photos), not "${spec}"`);
  }
  return { from, to };
}

/** A function from catalogue path to local path: the longest matching FROM wins; unmapped paths stay as they are. */
export function pathMapper(mappings: readonly PathMapping[]): (path: string) => string {
  if (mappings.length === 0) return (path) => path;
  const ordered = [...mappings].sort((a, b) => b.from.length - a.from.length);
  return (path) => {
    for (const { from, to } of ordered) {
      if (path === from || path.startsWith(`${from}/`)) return to + path.slice(from.length);
    }
    return path;
  };
}
