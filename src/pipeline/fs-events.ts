// File-system events under the folders a watcher follows: the one module that uses
// @parcel/watcher (inotify on Linux, FSEvents on macOS, ReadDirectoryChangesW on
// Windows; events coalesced in native code). Events only say "look here": the
// watcher re-reads what it is told about, so a lost or merged event costs at most
// a delay until the next full rescan, never a wrong catalogue.
import parcelWatcher from '@parcel/watcher';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FolderWatch {
  readonly root: string;
  close(): Promise<void>;
}

/** Why a folder cannot be watched, with what to do about it where there is something to do. */
export function explainWatchFailure(root: string, err: unknown): string {
  const message = (err as Error).message ?? String(err);
  if (/no space left|ENOSPC/i.test(message)) {
    return (
      `cannot watch ${root}: the system's limit on watched folders is reached (${message}); ` +
      'raise it with `sysctl fs.inotify.max_user_watches=524288` (and in /etc/sysctl.d/ to keep it); ' +
      'meanwhile the folder is rescanned periodically'
    );
  }
  if (/too many open files|EMFILE/i.test(message)) {
    return `cannot watch ${root}: ${message}; raise fs.inotify.max_user_instances; meanwhile the folder is rescanned periodically`;
  }
  return `cannot watch ${root}: ${message}; it is rescanned periodically instead`;
}

/**
 * Calls `onChange` with the paths that were created, changed or deleted under
 * `root` (a folder, or a single file: then its folder is watched for it alone).
 * Symbolic links inside are not followed by the events (the rescans follow them).
 * `onRootGone` is told when the root itself is deleted or moved away: its watch is then dead.
 */
export async function watchFolder(
  root: string,
  onChange: (paths: string[]) => void,
  onError: (err: Error) => void,
  onRootGone: () => void,
): Promise<FolderWatch> {
  const isFile = (await stat(root)).isFile();
  const folder = isFile ? dirname(root) : root;
  const subscription = await parcelWatcher.subscribe(folder, (err, events) => {
    if (err) {
      onError(err);
      return;
    }
    const paths: string[] = [];
    for (const event of events) {
      if (isFile ? event.path !== root : event.path !== root && !event.path.startsWith(`${root}/`)) continue;
      if (event.path === root && event.type === 'delete') onRootGone();
      paths.push(event.path);
    }
    if (paths.length > 0) onChange(paths);
  });
  return { root, close: () => subscription.unsubscribe() };
}
