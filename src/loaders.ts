import DataLoader from 'dataloader';
import type { DigitalPostRow, PersonRow } from './store/types';
import type { ChangeFeedPage, ContactPointWithDuplicate, PersonReads, PersonEntry as StoredEntry } from './store/types';

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
  // Batched: one read of the read model gives each person's row, channels and mailbox; the
  // channels and mailbox are kept here, so a lookup is one statement however much it
  // selects, and the other two loaders read only people that read did not give.
  const read = new Map<string, StoredEntry>();
  const person = loader('person', async (ids) => {
    const entries = await people.entries(ids);
    return entries.map((entry, i) => {
      // A person no longer there must not keep the channels of an earlier read.
      if (!entry) {
        read.delete(ids[i]);
        return null;
      }
      read.set(ids[i], entry);
      return entry.row;
    });
  });
  const alsoRead = <V>(pick: (entry: StoredEntry) => V, load: (ids: readonly string[]) => Promise<V[]>) =>
    async (ids: readonly string[]): Promise<V[]> => {
      const missing = ids.filter((id) => !read.has(id));
      const loaded = missing.length > 0 ? await load(missing) : [];
      const byId = new Map(missing.map((id, i) => [id, loaded[i]]));
      return ids.map((id) => {
        const entry = read.get(id);
        return entry ? pick(entry) : byId.get(id)!;
      });
    };
  const contactPoints = loader('contactPoints', alsoRead((entry) => entry.contactPoints, (ids) => people.contactPoints(ids)));
  const digitalPost = loader('digitalPost', alsoRead((entry) => entry.digitalPost, (ids) => people.digitalPost(ids)));
  return {
    async entries(ids, wants) {
      const rows = await Promise.all(ids.map((id) => person.load(id)));
      const active = [...new Set(ids.filter((_, i) => rows[i]?.status === 'ACTIVE'))];
      // From the person read when it gave them (the usual case: no promise per person);
      // else one batch through the loader. A batch that fails is not loaded up front: its
      // fields then load on demand and fail each as that field's error, the rest intact.
      const preload = <V>(wanted: boolean, table: DataLoader<string, V>, pick: (entry: StoredEntry) => V): V[] | Promise<V[] | undefined> | undefined => {
        if (!wanted || active.length === 0) return undefined;
        if (active.every((id) => read.has(id))) return active.map((id) => pick(read.get(id)!));
        return Promise.all(active.map((id) => table.load(id))).catch(() => undefined);
      };
      const [points, posts] = await Promise.all([
        preload(wants.contactPoints, contactPoints, (entry) => entry.contactPoints),
        preload(wants.digitalPost, digitalPost, (entry) => entry.digitalPost),
      ]);
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
