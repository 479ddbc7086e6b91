// The SQLite ports' row helpers: the ones both backends share (../rows.ts).
export { ACTIVE_SPACE, chunks, NO_EXIF_SQL, ROOT_KEY, ROOT_KEY_END, toRecord, underRoot, type ImageRow } from '../rows.js';
