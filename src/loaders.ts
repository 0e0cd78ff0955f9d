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
export function createLoaders(people: PersonStore): Loaders {
  return {
    person: new DataLoader(async (ids) => people.people(ids), { maxBatchSize: MAX_BATCH }),
    contactPoints: new DataLoader(async (ids) => people.contactPoints(ids), { maxBatchSize: MAX_BATCH }),
    digitalPost: new DataLoader(async (ids) => people.digitalPost(ids), { maxBatchSize: MAX_BATCH }),
  };
}
