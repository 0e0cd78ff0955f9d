/** How both stores write a `LookupRecord` into their audit log (the record's columns). */
import type { LookupRecord } from './types';

/** Space-separated, sorted: how scopes are stored in the audit log. */
export const scopeList = (scopes: readonly string[]): string => [...scopes].sort().join(' ');

/**
 * Per person scopes as the audit log stores them: only those that differ from the
 * request's, or null when none do.
 */
export function personScopes(record: LookupRecord, requestScopes: string): Record<string, string> | null {
  if (!record.scopesByPerson) return null;
  let differing: Record<string, string> | null = null;
  for (const [id, scopes] of record.scopesByPerson) {
    const list = scopeList(scopes);
    if (list !== requestScopes) (differing ??= {})[id] = list;
  }
  return differing;
}

/**
 * Rows of `lookup_person` per segment, on both stores. `lookup_person`'s key leads with
 * the segment, and the indexer writes only into the newest one: a batch's rows go into a
 * part of the tree of at most this many rows (some 1 300 SQLite pages), which stays in
 * cache, instead of landing on a random page each of the whole index, which at 10 000 000
 * rows is tens of thousands of pages written per batch. The price is paid by reads: a
 * citizen's lookups are one probe per segment (40 at 10 000 000 rows), and retention bounds
 * the number of segments.
 */
export const SEGMENT_ROWS = 250_000;

/** The newest segment as a store keeps it: its number and how many rows it holds. */
export interface NewestSegment {
  segment: number;
  rows: number;
}

/**
 * The segment the indexer's next batch goes into: the newest, or a new one (numbered after
 * it, 0 for the first) once the newest holds its `SEGMENT_ROWS`. A segment thus holds at
 * most `SEGMENT_ROWS` plus one batch.
 */
export function segmentForBatch(newest: NewestSegment | undefined): { segment: number; opens: boolean } {
  if (!newest) return { segment: 0, opens: true };
  return newest.rows >= SEGMENT_ROWS ? { segment: newest.segment + 1, opens: true } : { segment: newest.segment, opens: false };
}
