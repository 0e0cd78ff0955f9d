import DataLoader from 'dataloader';
import type { DigitalPostRow, PersonRow } from './store/types';
import type { ChangeFeedPage, ContactPointWithDuplicate, PersonReads } from './store/types';

/** At most this many keys go into one SQL statement. */
const MAX_BATCH = 1000;

/** Which of a person's other tables to read up front, beside the row. */
export interface TableWants {
  contactPoints: boolean;
  digitalPost: boolean;
}

/** A person's stored rows, as far as they were loaded up front (the rest is read on demand through the loaders). */
export interface PersonEntry {
  /** The person row; `null` when not registered. */
  row: PersonRow | null;
  contactPoints?: ContactPointWithDuplicate[];
  digitalPost?: DigitalPostRow | null;
}

export interface Loaders {
  /**
   * The people of `ids`, in order, each with the tables `wants` asks for loaded up front
   * (for active people): one batch per table, whatever the number of ids.
   */
  entries(ids: readonly string[], wants: TableWants): Promise<PersonEntry[]>;
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
}

/** How the server makes a request's loaders: `createLoaders`, or another (the benchmark's naive ones: bench/naive-loaders.ts). */
export type LoaderFactory = (people: PersonReads, options: LoaderOptions) => Loaders;

/** `people`: the request's reads (`RequestStore.people`), which count its SQL statements. */
export function createLoaders(people: PersonReads, { observeBatch }: LoaderOptions = {}): Loaders {
  const loader = <V>(name: keyof Loaders, load: (ids: readonly string[]) => Promise<V[]>) =>
    new DataLoader<string, V>(
      (ids) => {
        observeBatch?.(name, ids.length);
        return load(ids);
      },
      { maxBatchSize: MAX_BATCH },
    );
  const contactPoints = loader('contactPoints', (ids) => people.contactPoints(ids));
  const digitalPost = loader('digitalPost', (ids) => people.digitalPost(ids));
  // Batched: one read of the read model gives each person's row, channels and mailbox, and
  // primes the other two loaders, so a lookup is one statement however much it selects.
  const person = loader('person', async (ids) => {
    const entries = await people.entries(ids);
    return entries.map((entry, i) => {
      if (!entry) return null;
      contactPoints.prime(ids[i], entry.contactPoints);
      digitalPost.prime(ids[i], entry.digitalPost);
      return entry.row;
    });
  });
  return {
    async entries(ids, wants) {
      const rows = await Promise.all(ids.map((id) => person.load(id)));
      const active = [...new Set(ids.filter((_, i) => rows[i]?.status === 'ACTIVE'))];
      // A batch that fails is not loaded up front: its fields then load on demand and fail
      // each as that field's error, the rest of the answer intact.
      const preload = <V>(wanted: boolean, table: DataLoader<string, V>): Promise<V[] | undefined> =>
        wanted && active.length > 0 ? Promise.all(active.map((id) => table.load(id))).catch(() => undefined) : Promise.resolve(undefined);
      const [points, posts] = await Promise.all([preload(wants.contactPoints, contactPoints), preload(wants.digitalPost, digitalPost)]);
      const byId = new Map<string, Omit<PersonEntry, 'row'>>();
      active.forEach((id, i) => byId.set(id, { contactPoints: points?.[i], digitalPost: posts?.[i] }));
      return ids.map((id, i) => ({ row: rows[i], ...byId.get(id) }));
    },
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
