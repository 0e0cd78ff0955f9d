/**
 * A person's whole entry as a record: what the seed generates, the import reads and
 * `RegisterStore.replacePeople` writes. Plain data, no store behind it, so that the seed
 * generator (db/seed) and the stores can share it without depending on each other.
 */
import type { LanguageCode } from './language';

/** A person's contact channel. */
export interface ChannelRecord {
  address: string;
  updatedAt: Date;
  lastVerifiedAt: Date | null;
  lastValidatedAt: Date | null;
}

/** A person's whole entry. */
export interface PersonRecord {
  id: string;
  status: 'ACTIVE' | 'DELETED';
  reserved: boolean;
  reservedAt: Date | null;
  reservationUpdatedAt: Date | null;
  language: LanguageCode | null;
  languageUpdatedAt: Date | null;
  updatedAt: Date;
  email: ChannelRecord | null;
  /** In E.164. */
  mobile: ChannelRecord | null;
  digitalPost: { mailboxAddress: string; providerOrgNumber: string; certificate: string | null } | null;
}
