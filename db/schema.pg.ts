/**
 * The register's tables for PostgreSQL: the same tables, SQL names, keys and indexes as
 * `db/schema.ts` (SQLite), declared with drizzle-orm/pg-core. Plain Drizzle declarations
 * only: drizzle-kit reads this file (`drizzle.pg.config.ts`), so nothing here may import
 * type-graphql classes. Migrations: `npx drizzle-kit generate --config drizzle.pg.config.ts`
 * writes them into `db/migrations-pg/`.
 *
 * Column types, on purpose:
 * - Timestamps are `timestamp with time zone`, mode 'date'. The TypeScript row types this
 *   file infers (`Date | null`, `boolean`, `number`) are then the very ones `db/schema.ts`
 *   infers, so `PersonRow`, `ContactPointRow` and everything built on them (loaders,
 *   resolvers, domain rules) stay one code path for both stores; Drizzle writes a `Date` as
 *   ISO 8601 UTC and reads it back as a `Date`, and node-postgres parses `timestamptz` into
 *   a `Date` on raw queries too, so hand-written SQL needs no ms<->Date mapping either.
 *   Microsecond precision holds a JS millisecond exactly, and the values read well in psql.
 *   (bigint ms would keep the SQLite mappers' `new Date(ms)`, but int8 arrives from
 *   node-postgres as a string, and every raw query would need its own conversion.)
 * - Booleans are `boolean` (SQLite stores 0/1).
 * - Change numbers and the audit id are `bigint` in mode 'number' (SQLite's integer is
 *   64-bit too): exact up to 2^53, far beyond any register. `openPgStore` makes the pool
 *   parse int8 as a number for raw queries as well.
 * - Enumerations stay `text` with a TypeScript enum, as in SQLite: the domain code checks
 *   the values, and one schema shape keeps both migration histories alike.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, varchar } from 'drizzle-orm/pg-core';
import type { ChangeKind } from '../src/domain/change-kind';

/** `timestamp with time zone`, read and written as a JS `Date`. */
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const person = pgTable(
  'person',
  {
    /** `personidentifikator`: 11-digit identity number. */
    id: text('id').primaryKey(),
    /** `status`: ACTIVE (`AKTIV`) or DELETED (`SLETTET`). */
    status: text('status', { enum: ['ACTIVE', 'DELETED'] }).notNull(),
    /** `reservasjon`: reserved against digital communication of important letters. */
    reserved: boolean('reserved').notNull().default(false),
    /** `reservasjonstidspunkt`: when the current reservation was made. */
    reservedAt: at('reserved_at'),
    /** `reservasjon_oppdatert`: when the reservation was last set either way. */
    reservationUpdatedAt: at('reservation_updated_at'),
    /** `spraak`: nb, nn, en or se. */
    language: text('language', { enum: ['nb', 'nn', 'en', 'se'] }),
    /** `spraak_oppdatert`. */
    languageUpdatedAt: at('language_updated_at'),
    /** When anything about the person last changed. */
    updatedAt: at('updated_at').notNull(),
    /** The change number of the person's latest change (see `change_log`): drives the change feed. */
    changeNumber: bigint('change_number', { mode: 'number' }).notNull(),
  },
  (t) => [index('person_change_number_idx').on(t.changeNumber)],
);

export const contactPoint = pgTable(
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
    updatedAt: at('updated_at').notNull(),
    /** `_sist_verifisert`: the citizen confirmed the address is still right. */
    lastVerifiedAt: at('last_verified_at'),
    /** `_sist_validert`: the address was proven by a one-time code. */
    lastValidatedAt: at('last_validated_at'),
  },
  (t) => [primaryKey({ columns: [t.personId, t.channel] }), index('contact_point_address_idx').on(t.channel, t.addressKey)],
);

/**
 * Each distinct certificate value once, as in db/schema.ts (`certificate`): the mailbox and
 * the read model hold its id. Unique by its SHA-256 (`certificate_digest`, migration 0008),
 * not by the value: a B-tree entry holds at most about 2.7 kB, and a provider's certificate
 * in base64 can come close to that.
 */
export const certificate = pgTable(
  'certificate',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    value: text('value').notNull(),
  },
  (t) => [uniqueIndex('certificate_digest_unique').on(sql`certificate_digest(${t.value})`)],
);

export const digitalPost = pgTable('digital_post', {
  personId: text('person_id')
    .primaryKey()
    .references(() => person.id, { onDelete: 'cascade' }),
  /** `postkasseadresse`, e.g. `ola.nordmann#9YDT`. */
  mailboxAddress: text('mailbox_address').notNull(),
  /** `postkasseleverandoeradresse`: the provider's 9-digit organisation number. */
  providerOrgNumber: text('provider_org_number').notNull(),
  /** `sertifikat`: the provider's certificate (`certificate`), if the register has one. */
  certificateId: integer('certificate_id').references(() => certificate.id),
});

/**
 * How many ACTIVE people hold an address on a channel (by `address_key`): the duplicate
 * flag (`_duplisert`) decided when addresses and statuses change, never per read. Kept by
 * triggers (migration 0007) in the same transaction as every write.
 */
export const addressUse = pgTable(
  'address_use',
  {
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    addressKey: text('address_key').notNull(),
    activePeople: integer('active_people').notNull(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.addressKey] })],
);

/**
 * The lookup's read model: one row per person holding everything a lookup returns (the
 * person, both channels, the mailbox), kept by triggers on `person`, `contact_point` and
 * `digital_post` (migration 0007) in the same transaction as every write. Unlike SQLite's,
 * it holds no duplicate flags: a lookup joins `address_use` for them (two primary-key
 * probes), so a write never rewrites another person's row, and writers of two people who
 * share an address do not lock each other's rows (no deadlock between replicas).
 */
export const personLookup = pgTable('person_lookup', {
  id: text('id').primaryKey(),
  status: text('status', { enum: ['ACTIVE', 'DELETED'] }).notNull(),
  reserved: boolean('reserved').notNull(),
  reservedAt: at('reserved_at'),
  reservationUpdatedAt: at('reservation_updated_at'),
  language: text('language', { enum: ['nb', 'nn', 'en', 'se'] }),
  languageUpdatedAt: at('language_updated_at'),
  updatedAt: at('updated_at').notNull(),
  changeNumber: bigint('change_number', { mode: 'number' }).notNull(),
  emailAddress: text('email_address'),
  emailAddressKey: text('email_address_key'),
  emailUpdatedAt: at('email_updated_at'),
  emailLastVerifiedAt: at('email_last_verified_at'),
  emailLastValidatedAt: at('email_last_validated_at'),
  mobileAddress: text('mobile_address'),
  mobileAddressKey: text('mobile_address_key'),
  mobileUpdatedAt: at('mobile_updated_at'),
  mobileLastVerifiedAt: at('mobile_last_verified_at'),
  mobileLastValidatedAt: at('mobile_last_validated_at'),
  mailboxAddress: text('mailbox_address'),
  providerOrgNumber: text('provider_org_number'),
  certificateId: integer('certificate_id'),
});

/**
 * One row per change to a person, numbered 1, 2, 3, ... without gaps. The number is NOT a
 * sequence (`serial`/identity): a sequence hands out numbers outside the transaction, so a
 * rolled-back or failed write leaves a gap, and concurrent writers commit their numbers
 * out of order (a change-feed reader could see 8 before 7 is committed and step over 7).
 * It comes from `change_counter` instead (below).
 */
export const changeLog = pgTable(
  'change_log',
  {
    changeNumber: bigint('change_number', { mode: 'number' }).primaryKey(),
    personId: text('person_id').notNull(),
    changedAt: at('changed_at').notNull(),
    /** What kind of change: one of `CHANGE_KINDS` (src/domain/change-kind.ts). */
    kind: text('kind').$type<ChangeKind>().notNull(),
  },
  (t) => [index('change_log_person_idx').on(t.personId)],
);

/**
 * The last change number handed out: exactly one row (id = 1), created by the migration
 * `0001_change_counter_row` from `max(change_log.change_number)`.
 *
 * A write takes its number, inside its own transaction and as late as it can, with
 *
 *   update change_counter set last_change_number = last_change_number + 1 where id = 1
 *   returning last_change_number
 *
 * (`recordChange` in `src/store/postgres/connection.ts` does this and the `change_log` insert in one
 * statement). Why this gives 1..K with no gap and in commit order, across any number of
 * gateway processes on one database:
 * - The UPDATE row-locks the counter until the transaction ends. A rollback (or a crash)
 *   undoes the increment with the rest of the change, so a failed write takes no number.
 * - A second writer's UPDATE waits for that lock. Under READ COMMITTED (PostgreSQL's
 *   default, which writers must keep) it then re-reads the row as committed and takes the
 *   next number; after a rollback it takes the same number again.
 * - PostgreSQL releases the lock only after the commit is visible, so number n+1 is taken
 *   only once n is committed: any snapshot that sees change n+1 sees every change before
 *   it. That is the promise the change feed relies on (SQLite gives it with its single
 *   writer lock), and why a REPEATABLE READ feed page plus `latestChangeNumber` read in
 *   the same snapshot never steps over a change.
 * The price: numbered writes are serialised for the time from taking the number to the
 * commit (the commit's WAL flush included), as every write is in SQLite. Taking the number
 * last keeps that window short.
 *
 * Rejected: `pg_advisory_xact_lock(K)` + `max(change_number) + 1` gives the same order, but
 * only for code that remembers the lock (a plain insert into change_log would race), and
 * it breaks under REPEATABLE READ (the snapshot predates the lock); the counter row is
 * enforced by the database itself. SERIALIZABLE + retry would need a retry loop around
 * every write and still serialise on the same "max" read.
 */
export const changeCounter = pgTable(
  'change_counter',
  {
    id: smallint('id').primaryKey().default(1),
    lastChangeNumber: bigint('last_change_number', { mode: 'number' }).notNull(),
  },
  (t) => [check('change_counter_single_row', sql`${t.id} = 1`), check('change_counter_not_negative', sql`${t.lastChangeNumber} >= 0`)],
);


/**
 * One pending one-time code per person and channel: a new code replaces the old one. Only
 * a salted scrypt hash of the code is kept. A code is for the address it was sent to.
 * Kept in the database, not in a process: a code sent by one replica is checked by another.
 */
export const verificationCode = pgTable(
  'verification_code',
  {
    personId: text('person_id')
      .notNull()
      .references(() => person.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    address: text('address').notNull(),
    /** `salt:hash`, both hex. */
    codeHash: text('code_hash').notNull(),
    createdAt: at('created_at').notNull(),
    expiresAt: at('expires_at').notNull(),
    /** Wrong codes tried so far; at the limit the code is locked. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.personId, t.channel] })],
);

/**
 * The lookup audit log as an append, as in `db/schema.ts`: one row per agency request,
 * committed (synchronous_commit=on) before the answer leaves. `lookup_person` is derived
 * from it by a background indexer. Ids come from an identity column, handed out outside
 * transactions and so committed out of order across connections and replicas: instead of
 * a high-water mark, each request carries the `segment` its `lookup_person` rows went into
 * (null until the indexer has derived them, in the same transaction), and the partial index
 * on the unindexed requests finds the tail cheaply, for the indexer and for reads. The view
 * `lookup_audit` (migration 0006) shows the log flattened, one row per person looked up.
 */
export const lookupRequest = pgTable(
  'lookup_request',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    lookedUpAt: at('looked_up_at').notNull(),
    agencyOrgNumber: text('agency_org_number').notNull(),
    /** The supplier that called on the agency's behalf (delegation); null when the agency called itself. */
    supplierOrgNumber: text('supplier_org_number'),
    /** The scopes the request used, sorted, space-separated (may be empty). */
    scopes: text('scopes').notNull(),
    /** The people looked up, distinct. */
    personIds: text('person_ids').array().notNull(),
    /** Where the scopes released differ per person: id -> space-separated scopes; null when all got `scopes`. */
    personScopes: jsonb('person_scopes').$type<Record<string, string>>(),
    /** The segment of `lookup_person` that holds this request's rows; null until indexed. */
    segment: integer('segment'),
  },
  (t) => [
    index('lookup_request_unindexed_idx').on(t.id).where(sql`${t.segment} is null`),
    // Retention takes the oldest by time, not by id: ids are handed out before commit, and clocks differ between replicas.
    index('lookup_request_at_idx').on(t.lookedUpAt),
  ],
);

/** Derived from `lookup_request` (see there): a person's lookups, by request, in segments (as in `db/schema.ts`). */
export const lookupPerson = pgTable(
  'lookup_person',
  {
    segment: integer('segment').notNull(),
    personId: text('person_id').notNull(),
    requestId: bigint('request_id', { mode: 'number' }).notNull(),
    /** The scopes released for this person where they differ from the request's; null otherwise. */
    scopes: text('scopes'),
  },
  (t) => [primaryKey({ columns: [t.segment, t.personId, t.requestId] })],
);

/**
 * The segments of `lookup_person` and how many rows the indexer put into each. Indexers of
 * several replicas take turns on the newest segment's row (`for update`).
 */
export const lookupSegment = pgTable('lookup_segment', {
  segment: integer('segment').primaryKey(),
  rows: bigint('rows', { mode: 'number' }).notNull(),
});

/**
 * Request counts for rate limits, shared by every replica (PostgreSQL only: on SQLite each
 * process counts its own). The layout rate-limiter-flexible's `RateLimiterPostgres` reads
 * and writes (`tableCreated: true`: created here, by a migration, not at run time). Keys
 * are `krr:org:<organisation number>`, `krr:pid:<sha-256 of the identity number>` or `krr:ip:<address>`;
 * `expire` is ms since the epoch.
 */
export const rateLimit = pgTable('rate_limit', {
  key: varchar('key', { length: 255 }).primaryKey(),
  points: integer('points').notNull().default(0),
  expire: bigint('expire', { mode: 'number' }),
});


/**
 * What happened to one-time codes, as in `db/schema.ts`: the limits on codes are counted
 * here, in the database, so they hold across replicas (a write locks the addresses it
 * counts, see `lockAddresses`).
 */
export const codeLog = pgTable(
  'code_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    personId: text('person_id').notNull(),
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    addressKey: text('address_key').notNull(),
    event: text('event', { enum: ['SENT', 'CHECKED', 'PROVEN'] }).notNull(),
    at: at('at').notNull(),
  },
  (t) => [index('code_log_person_idx').on(t.personId, t.at), index('code_log_address_idx').on(t.addressKey, t.at), index('code_log_at_idx').on(t.at)],
);

/**
 * Follower mode (KRR_UPSTREAM_URL): where this copy stands in the upstream register's change
 * feed. At most one row (id = 1), written in the same transaction as the page of people it
 * describes, so a crash never separates the people from the position.
 */
export const upstreamSync = pgTable(
  'upstream_sync',
  {
    id: smallint('id').primaryKey(),
    /** The upstream's base URL: positions mean nothing in another register's feed. */
    upstream: text('upstream').notNull(),
    /** The last upstream change number applied here (`tilEndringsId` of the last page). */
    position: bigint('position', { mode: 'number' }).notNull(),
    /** The upstream's newest change number (`sisteEndringsId`) when it last answered. */
    latest: bigint('latest', { mode: 'number' }).notNull(),
    /**
   * The last time this copy was caught up (a page with tilEndringsId == sisteEndringsId
   * applied): it then held everything the upstream had. Null until the first catch-up.
   */
    lastSuccessAt: at('last_success_at'),
  },
  (t) => [check('upstream_sync_single_row', sql`${t.id} = 1`)],
);
