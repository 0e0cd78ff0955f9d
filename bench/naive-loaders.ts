/**
 * The benchmark's naive loaders (the `naive` workload): the same schema and rules as the
 * service, but no DataLoader batching, no cache and nothing loaded up front, so every
 * person's row and every Person field that reads a table (`notificationStatus`,
 * `contactInfo`, `digitalMailbox`, `certificate`) is its own uncached statement. Injected into
 * the server by bench/naive-main.ts (and the naive tests in test/integration/persons.test.ts);
 * the service itself has no such mode.
 */
import DataLoader from 'dataloader';
import type { LoaderFactory, Loaders } from '../src/loaders';

export const createNaiveLoaders: LoaderFactory = (people, { observeBatch }) => {
  const loader = <V>(name: keyof Loaders, load: (ids: readonly string[]) => Promise<V[]>) =>
    new DataLoader<string, V>(
      (ids) => {
        observeBatch?.(name, ids.length);
        return load(ids);
      },
      { batch: false, cache: false },
    );
  const person = loader('person', (ids) => people.people(ids));
  return {
    // Only the rows: each field reads its own table when it is resolved.
    entries: async (ids) => (await Promise.all(ids.map((id) => person.load(id)))).map((row) => ({ row })),
    person,
    contactPoints: loader('contactPoints', (ids) => people.contactPoints(ids)),
    digitalPost: loader('digitalPost', (ids) => people.digitalPost(ids)),
    // Nothing to prime without a cache: each person shown is read again.
    changePage: (after, limit) => people.changePage(after, limit),
  };
};
