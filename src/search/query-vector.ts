// Query arithmetic: "beach" + "sunset" − "people" as one vector. CLIP vectors are
// unit length, so a weighted sum renormalised points between (or away from) the
// directions it combines; cosine search needs it unit length again.

/** A query the user got wrong (bad weight, terms that cancel out, an image with no vector): a client error. */
export class QueryError extends Error {}

export interface QueryTerm {
  vector: Float32Array;
  /** Signed: positive pulls results towards the term, negative pushes them away. */
  weight: number;
}

/** The normalised weighted sum of the terms. Throws when it has no direction (e.g. "red" − "red"). */
export function combineQuery(terms: readonly QueryTerm[]): Float32Array {
  if (terms.length === 0) throw new QueryError('a query needs at least one term');
  const dims = terms[0].vector.length;
  const sum = new Float32Array(dims);
  for (const { vector, weight } of terms) {
    if (vector.length !== dims) throw new QueryError(`query terms have different sizes (${vector.length} and ${dims})`);
    if (!Number.isFinite(weight)) throw new QueryError(`a query weight must be a finite number, not ${weight}`);
    for (let i = 0; i < dims; i++) sum[i] += weight * vector[i];
  }
  let norm = 0;
  for (const x of sum) norm += x * x;
  norm = Math.sqrt(norm);
  // Float32 rounding leaves a tiny remainder when terms cancel exactly.
  if (!(norm > 1e-6)) throw new QueryError('the query terms cancel out: the combined query has no direction');
  for (let i = 0; i < dims; i++) sum[i] /= norm;
  return sum;
}

export interface WeightedValue {
  weight: number;
  value: string;
}

/**
 * "2:sunset" → weight 2, "sunset"; "sunset" → weight 1. Only a leading positive
 * number followed by ":" is a weight, so "a: b" or "C:\photo.jpg" stay whole;
 * write "1:10:30 train" for a text that starts with a number and a colon.
 */
export function parseWeighted(spec: string, option: string): WeightedValue {
  const negative = /^\s*-\s*(\d+(?:\.\d+)?|\.\d+)\s*:/.exec(spec);
  if (negative) {
    throw new QueryError(
      `${option}: the weight must be a positive number, not "-${negative[1]}" (to steer away from a term, subtract it instead)`,
    );
  }
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+):(.*)$/s.exec(spec);
  const weight = match ? Number(match[1]) : 1;
  const value = (match ? match[2] : spec).trim();
  if (!(weight > 0) || !Number.isFinite(weight))
    throw new QueryError(`${option}: the weight must be a positive number, not "${match?.[1]}"`);
  if (value === '') throw new QueryError(`${option}: "${spec}" has no term after the weight`);
  return { weight, value };
}
