import DataLoader from 'dataloader';
import type { DigitalPostRow, PersonRow } from '../db/schema';
import type { ContactPointWithDuplicate, PersonStore } from './store/person.store';

/** At most this many keys go into one SQL statement. */
const MAX_BATCH = 1000;

export interface Loaders {
  person: DataLoader<string, PersonRow | null>;
  contactPoints: DataLoader<string, ContactPointWithDuplicate[]>;
  digitalPost: DataLoader<string, DigitalPostRow | null>;
}

/**
 * Fresh loaders for every request: their cache lives exactly as long as one response, so
 * one request never sees another's data and a write is visible to the next request.
 */
export function createLoaders(people: PersonStore, observeBatch: (loader: keyof Loaders, size: number) => void = () => {}): Loaders {
  const loader = <V>(name: keyof Loaders, load: (ids: readonly string[]) => V[]) =>
    new DataLoader<string, V>(
      async (ids) => {
        observeBatch(name, ids.length);
        return load(ids);
      },
      { maxBatchSize: MAX_BATCH },
    );
  return {
    person: loader('person', (ids) => people.people(ids)),
    contactPoints: loader('contactPoints', (ids) => people.contactPoints(ids)),
    digitalPost: loader('digitalPost', (ids) => people.digitalPost(ids)),
  };
}
