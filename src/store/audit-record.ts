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
