// The watcher's defaults, in a module of their own so that the command line's help
// can show them without loading the watcher (and its native file-system watcher).

/** A full rescan every hour catches what events miss. */
export const DEFAULT_RESCAN_MS = 60 * 60_000;
/** A file is taken once its size and mtime have stayed the same this long (chokidar's awaitWriteFinish default). */
export const DEFAULT_SETTLE_MS = 2000;
