// Catalogue schema, versioned through PRAGMA user_version so later releases can migrate.

export const SCHEMA_VERSION = 1;

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
