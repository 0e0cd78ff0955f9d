/**
 * What kind of change took a change number (`change_log.kind`). A closed list: the writes
 * that name a kind are typed with it, and `db/schema*.ts` types the column with it, so a
 * kind nothing writes cannot linger in the schema's documentation.
 */
export const CHANGE_KINDS = [
  /** The synthetic population of a first start or `npm run db:seed`. */
  'SEED',
  /** A whole entry written by the import (`replacePeople`). */
  'IMPORT',
  /** The citizen set one or both addresses (`updateContactInfo`). */
  'CONTACT_INFO_UPDATED',
  /** An email proven with a code: stamps `lastValidatedAt`. */
  'EMAIL_VALIDATED',
  /** A mobile proven with an SMS code: stamps `lastValidatedAt`. (Before issue 13 this stamped `lastVerifiedAt` and was logged as `MOBILE_VERIFIED`; older logs keep that name.) */
  'MOBILE_VALIDATED',
  /** "My details are still right": stamps `lastVerifiedAt` on every channel. */
  'CONTACT_INFO_CONFIRMED',
  'CONTACT_INFO_DELETED',
  'RESERVED',
  'RESERVATION_LIFTED',
  'LANGUAGE_SET',
  /** A whole entry copied from the upstream register's change feed (follower mode, `applyUpstreamPage`). */
  'UPSTREAM',
] as const;

export type ChangeKind = (typeof CHANGE_KINDS)[number];
