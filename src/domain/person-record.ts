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

/** What the register keeps on the person itself (apart from its id and bookkeeping). */
export interface PersonFields {
  /** `status`: `AKTIV` or `SLETTET`. */
  status: 'ACTIVE' | 'DELETED';
  /** `reservasjon`. */
  reserved: boolean;
  /** `reservasjonstidspunkt`: since when the current reservation holds. */
  reservedAt: Date | null;
  /** `reservasjon_oppdatert`: when the reservation was last set either way. */
  reservationUpdatedAt: Date | null;
  /** `spraak`, `spraak_oppdatert`. */
  language: LanguageCode | null;
  languageUpdatedAt: Date | null;
}

/** A person's whole entry. */
export interface PersonRecord extends PersonFields {
  id: string;
  updatedAt: Date;
  email: ChannelRecord | null;
  /** In E.164. */
  mobile: ChannelRecord | null;
  digitalPost: { mailboxAddress: string; providerOrgNumber: string; certificate: string | null } | null;
}
