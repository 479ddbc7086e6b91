// Limits on what the media module decodes, shared by embedding and thumbnails.

/** Decompression-bomb guard: images (or resize results) with more pixels are refused (--max-pixels). */
export const DEFAULT_MAX_PIXELS = 100_000_000;
