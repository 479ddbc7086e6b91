// The SQLite catalogue's schema, versioned through PRAGMA user_version: each
// version's script runs once, in order, in the transaction that opens a library
// written by an older picsift.

export const SCHEMA_VERSION = 3;

export const SCHEMA_V1 = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE images (
  id            INTEGER PRIMARY KEY,
  path          TEXT NOT NULL UNIQUE,
  size          INTEGER NOT NULL,
  mtime_ms      INTEGER NOT NULL,
  format        TEXT NOT NULL,
  status        TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'embedded', 'failed', 'removed', 'skipped')),
  width         INTEGER,
  height        INTEGER,
  content_hash  TEXT,
  error         TEXT,
  registered_at INTEGER NOT NULL,
  embedded_at   INTEGER,
  -- The scan that last saw the file: files under a scanned folder that the
  -- latest scan did not see have been deleted or moved.
  seen_scan     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX images_by_status ON images (status, id);
CREATE INDEX images_by_hash ON images (content_hash) WHERE content_hash IS NOT NULL;

CREATE TABLE vectors (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  image_id INTEGER NOT NULL UNIQUE REFERENCES images (id) ON DELETE CASCADE,
  vector   BLOB NOT NULL
);
`;

/**
 * Version 2: EXIF facts read at embed time, so searches can filter on them in SQL.
 * All nullable (photos without EXIF, images embedded before version 2).
 * taken_at is EXIF DateTimeOriginal as the camera's local wall-clock time,
 * "YYYY-MM-DDTHH:MM:SS" (text compares in time order).
 */
export const MIGRATE_V1_TO_V2 = `
ALTER TABLE images ADD COLUMN taken_at TEXT;
ALTER TABLE images ADD COLUMN camera_make TEXT;
ALTER TABLE images ADD COLUMN camera_model TEXT;
ALTER TABLE images ADD COLUMN orientation INTEGER;
ALTER TABLE images ADD COLUMN gps_lat REAL;
ALTER TABLE images ADD COLUMN gps_lon REAL;
`;

/**
 * Version 3: vector spaces. A space is one model's vectors; search uses the
 * active one, and a second space can be filled while the first serves (changing
 * the model without losing search). The model recorded in meta becomes space 1.
 * Vectors gain their space; seq stays the commit order (AUTOINCREMENT never
 * reuses a value, and with one writer seq order is commit order), so "vectors
 * with seq ≥ the index's watermark" is exactly what an ANN index lacks.
 * The catalogue also gets an identity, recorded by the indexes built from it.
 */
export const MIGRATE_V2_TO_V3 = `
-- The camera's UTC offset when it recorded one (EXIF OffsetTimeOriginal): the viewer shows it.
ALTER TABLE images ADD COLUMN taken_offset TEXT;

CREATE TABLE spaces (
  id       INTEGER PRIMARY KEY,
  model_id TEXT NOT NULL,
  dtype    TEXT NOT NULL,
  dims     INTEGER NOT NULL,
  state    TEXT NOT NULL CHECK (state IN ('active', 'building', 'retired'))
);
CREATE UNIQUE INDEX one_active_space ON spaces (state) WHERE state = 'active';
INSERT INTO spaces (id, model_id, dtype, dims, state)
  SELECT 1, json_extract(value, '$.id'), json_extract(value, '$.dtype'), json_extract(value, '$.dims'), 'active'
  FROM meta WHERE key = 'model';
DELETE FROM meta WHERE key = 'model';

CREATE TABLE vectors_v3 (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  space    INTEGER NOT NULL,
  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  vector   BLOB NOT NULL,
  UNIQUE (space, image_id)
);
INSERT INTO vectors_v3 (seq, space, image_id, vector) SELECT seq, 1, image_id, vector FROM vectors ORDER BY seq;
DROP TABLE vectors;
ALTER TABLE vectors_v3 RENAME TO vectors;
CREATE INDEX vectors_by_image ON vectors (image_id);

-- Failures of a space being filled (reembed): the image stays embedded in the active space.
CREATE TABLE space_failures (
  space    INTEGER NOT NULL,
  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  reason   TEXT NOT NULL,
  PRIMARY KEY (space, image_id)
);
`;
