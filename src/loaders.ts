import DataLoader from 'dataloader';
import type { DigitalPostRow, PersonRow } from './store/types';
import type { ChangeFeedPage, ContactPointWithDuplicate, PersonReads } from './store/types';

/** At most this many keys go into one SQL statement. */
const MAX_BATCH = 1000;

export interface Loaders {
  /**
   * `naive` (benchmark only): no batching, no cache, and nothing loaded up front (see
   * `loadPeople`): every Person field that needs a table reads it with its own statement.
   */
  readonly mode: 'batched' | 'naive';
  person: DataLoader<string, PersonRow | null>;
  contactPoints: DataLoader<string, ContactPointWithDuplicate[]>;
  digitalPost: DataLoader<string, DigitalPostRow | null>;
  /**
   * One page of the change feed. Not a DataLoader (a page is not a batch of keys), but kept
   * with them: it primes `person` with the rows it read, so the request resolves those
   * people from the page's own snapshot and never reads their rows a second time.
   */
  changePage(after: number, limit: number): Promise<ChangeFeedPage>;
}

/**
 * Fresh loaders for every request: their cache lives exactly as long as one response, so
 * one request never sees another's data and a write is visible to the next request.
 */
export interface LoaderOptions {
  /** Told the size of every batch (for metrics). */
  observeBatch?: (loader: keyof Loaders, size: number) => void;
  /** `naive` (benchmark only): every load is its own SQL statement, nothing is remembered, nothing is loaded up front. */
  mode?: 'batched' | 'naive';
}

/** `people`: the request's reads (`RequestStore.people`), which count its SQL statements. */
export function createLoaders(people: PersonReads, { observeBatch, mode = 'batched' }: LoaderOptions = {}): Loaders {
  const options = mode === 'naive' ? { batch: false, cache: false } : { maxBatchSize: MAX_BATCH };
  const loader = <V>(name: keyof Loaders, load: (ids: readonly string[]) => Promise<V[]>) =>
    new DataLoader<string, V>((ids) => {
      observeBatch?.(name, ids.length);
      return load(ids);
    }, options);
  const contactPoints = loader('contactPoints', (ids) => people.contactPoints(ids));
  const digitalPost = loader('digitalPost', (ids) => people.digitalPost(ids));
  // Batched: one read of the read model gives each person's row, channels and mailbox, and
  // primes the other two loaders, so a lookup is one statement however much it selects.
  const person =
    mode === 'naive'
      ? loader('person', (ids) => people.people(ids))
      : loader('person', async (ids) => {
          const entries = await people.entries(ids);
          return entries.map((entry, i) => {
            if (!entry) return null;
            contactPoints.prime(ids[i], entry.contactPoints);
            digitalPost.prime(ids[i], entry.digitalPost);
            return entry.row;
          });
        });
  return {
    mode,
    person,
    contactPoints,
    digitalPost,
    async changePage(after, limit) {
      const page = await people.changePage(after, limit);
      // Cleared first: prime keeps a row cached earlier in the request, and the page's row,
      // read later, is at least as new; the feed lists a person for that row's change.
      for (const row of page.rows) person.clear(row.id).prime(row.id, row);
      return page;
    },
  };
}
