// Catalogue schema, versioned through PRAGMA user_version so later releases can migrate.

export const SCHEMA_VERSION = 2;

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

-- One row per embedded image, and per removed image whose vector is kept so that
-- a moved or renamed copy of the same content reuses it without re-embedding. seq only grows (AUTOINCREMENT never reuses a value),
-- so "vectors with seq > the index's watermark" is exactly what an ANN index lacks.
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
