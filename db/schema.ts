/**
 * The register's tables. Plain Drizzle declarations only: drizzle-kit reads this file
 * without decorator metadata, so nothing here may import type-graphql classes.
 *
 * Timestamps are UTC milliseconds (`timestamp_ms`). A person who is not in `person` is
 * "not registered"; a deleted person keeps a row with status DELETED.
 */
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { ChangeKind } from '../src/domain/change-kind';

export const person = sqliteTable(
  'person',
  {
    /** `personidentifikator`: 11-digit identity number. */
    id: text('id').primaryKey(),
    /** `status`: ACTIVE (`AKTIV`) or DELETED (`SLETTET`). */
    status: text('status', { enum: ['ACTIVE', 'DELETED'] }).notNull(),
    /** `reservasjon`: reserved against digital communication of important letters. */
    reserved: integer('reserved', { mode: 'boolean' }).notNull().default(false),
    /** `reservasjonstidspunkt`: when the current reservation was made. */
    reservedAt: integer('reserved_at', { mode: 'timestamp_ms' }),
    /** `reservasjon_oppdatert`: when the reservation was last set either way. */
    reservationUpdatedAt: integer('reservation_updated_at', { mode: 'timestamp_ms' }),
    /** `spraak`: nb, nn, en or se. */
    language: text('language', { enum: ['nb', 'nn', 'en', 'se'] }),
    /** `spraak_oppdatert`. */
    languageUpdatedAt: integer('language_updated_at', { mode: 'timestamp_ms' }),
    /** When anything about the person last changed. */
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    /** The change number of the person's latest change (see `change_log`): drives the change feed. */
    changeNumber: integer('change_number').notNull(),
  },
  (t) => [index('person_change_number_idx').on(t.changeNumber)],
);

export const contactPoint = sqliteTable(
  'contact_point',
  {
    personId: text('person_id')
      .notNull()
      .references(() => person.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    /** The address as the citizen gave it (email) or in E.164 (mobile). */
    address: text('address').notNull(),
    /** What "the same address" means for the duplicate flag: lower-cased email, E.164 mobile. */
    addressKey: text('address_key').notNull(),
    /** `_oppdatert`. */
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    /** `_sist_verifisert`: the citizen confirmed the address is still right. */
    lastVerifiedAt: integer('last_verified_at', { mode: 'timestamp_ms' }),
    /** `_sist_validert`: the address was proven by a one-time code. */
    lastValidatedAt: integer('last_validated_at', { mode: 'timestamp_ms' }),
  },
  (t) => [primaryKey({ columns: [t.personId, t.channel] }), index('contact_point_address_idx').on(t.channel, t.addressKey)],
);

export const digitalPost = sqliteTable('digital_post', {
  personId: text('person_id')
    .primaryKey()
    .references(() => person.id, { onDelete: 'cascade' }),
  /** `postkasseadresse`, e.g. `ola.nordmann#9YDT`. */
  mailboxAddress: text('mailbox_address').notNull(),
  /** `postkasseleverandoeradresse`: the provider's 9-digit organisation number. */
  providerOrgNumber: text('provider_org_number').notNull(),
  /** `sertifikat`: base64 X.509 certificate for encrypting secure digital post. */
  certificate: text('certificate'),
});

/**
 * One row per change to a person, numbered without gaps: the number is the SQLite rowid,
 * taken inside the same transaction as the change, so a rolled-back change leaves no number.
 */
export const changeLog = sqliteTable(
  'change_log',
  {
    changeNumber: integer('change_number').primaryKey(),
    personId: text('person_id').notNull(),
    changedAt: integer('changed_at', { mode: 'timestamp_ms' }).notNull(),
    /** What kind of change: one of `CHANGE_KINDS` (src/domain/change-kind.ts). */
    kind: text('kind').$type<ChangeKind>().notNull(),
  },
  (t) => [index('change_log_person_idx').on(t.personId)],
);


/**
 * One pending one-time code per person and channel: a new code replaces the old one. Only
 * a salted scrypt hash of the code is kept. A code is for the address it was sent to.
 */
export const verificationCode = sqliteTable(
  'verification_code',
  {
    personId: text('person_id')
      .notNull()
      .references(() => person.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    address: text('address').notNull(),
    /** `salt:hash`, both hex. */
    codeHash: text('code_hash').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    /** Wrong codes tried so far; at the limit the code is locked. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.personId, t.channel] })],
);

/**
 * Who looked up whom: one row per person per agency request, written in one statement at
 * the end of the request. Kept apart from `change_log`: a lookup changes nothing.
 */
export const lookupAudit = sqliteTable(
  'lookup_audit',
  {
    id: integer('id').primaryKey(),
    personId: text('person_id').notNull(),
    agencyOrgNumber: text('agency_org_number').notNull(),
    /** Delegation: the vendor that asked on the agency's behalf (token `supplier`); null when the agency asked itself. */
    supplierOrgNumber: text('supplier_org_number'),
    lookedUpAt: integer('looked_up_at', { mode: 'timestamp_ms' }).notNull(),
    /** The scopes the request actually used, space-separated (may be empty). */
    scopes: text('scopes').notNull(),
  },
  (t) => [index('lookup_audit_person_idx').on(t.personId, t.id)],
);


/**
 * What happened to one-time codes (sent to an address, checked, proven), kept apart from
 * `verification_code` so that deleting or changing the contact information does not clear
 * it: the limits on codes (one a minute per citizen and channel, so many per address per
 * hour and day, so many wrong codes per citizen per day) are counted here. No foreign key:
 * the log outlives the person's rows. Rows older than a day are pruned a few at a time.
 */
export const codeLog = sqliteTable(
  'code_log',
  {
    id: integer('id').primaryKey(),
    personId: text('person_id').notNull(),
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    /** The address's key (`address_key` of `contact_point`). */
    addressKey: text('address_key').notNull(),
    event: text('event', { enum: ['SENT', 'CHECKED', 'PROVEN'] }).notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('code_log_person_idx').on(t.personId, t.at), index('code_log_address_idx').on(t.addressKey, t.at), index('code_log_at_idx').on(t.at)],
);

/**
 * Follower mode (KRR_UPSTREAM_URL): where this copy stands in the upstream register's change
 * feed. At most one row (id = 1), written in the same transaction as the page of people it
 * describes, so a crash never separates the people from the position.
 */
export const upstreamSync = sqliteTable('upstream_sync', {
  id: integer('id').primaryKey(),
  /** The upstream's base URL: positions mean nothing in another register's feed. */
  upstream: text('upstream').notNull(),
  /** The last upstream change number applied here (`tilEndringsId` of the last page). */
  position: integer('position').notNull(),
  /** The upstream's newest change number (`sisteEndringsId`) when it last answered. */
  latest: integer('latest').notNull(),
  /**
   * The last time this copy was caught up (a page with tilEndringsId == sisteEndringsId
   * applied): it then held everything the upstream had. Null until the first catch-up.
   */
  lastSuccessAt: integer('last_success_at', { mode: 'timestamp_ms' }),
});
