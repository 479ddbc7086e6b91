// How much a search returns and accepts: declared once, read by the search
// service, the command line's help and the API's schemas (OpenAPI).

/** Results a search returns unless asked for another number. */
export const DEFAULT_RESULTS = 20;
/** The most results one search returns. */
export const MAX_RESULTS = 1000;
/** Longest query text: CLIP models read at most 77 tokens, so anything much longer is a mistake or abuse. */
export const MAX_QUERY_CHARS = 500;
