/**
 * The register's store, as the rest of the service sees it: one asynchronous interface,
 * implemented over SQLite (`src/store/sqlite/`, the embedded default) and over PostgreSQL
 * (`src/store/postgres/`, `KRR_DATABASE_URL`). Resolvers, services, loaders, the server,
 * `main.ts`, the import and the seed depend on this file only; `openRegisterStore` in
 * `open.ts` picks the implementation.
 *
 * What goes into one transaction is decided inside each method and never crosses this
 * interface: every write method is atomic on its own (all of it commits, or none of it),
 * and every change it makes to a person takes the next change number in the same
 * transaction, so the change log has no gaps.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ChangeKind } from '../domain/change-kind';
import type { CitizenPlan, CitizenState } from '../domain/citizen-plan';
import type { ChannelRecord, PersonFields, PersonRecord } from '../domain/person-record';
import type { StagingBatch } from './bulk-rows';

export type { ChannelRecord, PersonRecord };

export type StoreKind = 'sqlite' | 'postgres';

/** Where a request's reads may go (see `RegisterStore.forRequest`). */
export type ReadRouting = 'primary' | 'replica';

/** Counts SQL statements (one request's, or a whole store's), so tests and metrics can prove batching. */
export class StatementCounter {
  count = 0;
}

/*
 * The store's own row types: what its reads return. Declared here, not inferred from a
 * Drizzle schema: each store maps its tables to these (a new column is never part of the
 * interface by accident, and neither store's schema leaks to the other's callers).
 */

/** A person's row (`person`). */
export interface PersonRow extends PersonFields {
  /** `personidentifikator`. */
  id: string;
  /** When anything about the person last changed. */
  updatedAt: Date;
  /** The number of the person's latest change. */
  changeNumber: number;
}

/** A person's digital mailbox and certificate. */
export interface DigitalPostRow {
  personId: string;
  mailboxAddress: string;
  providerOrgNumber: string;
  certificate: string | null;
}

export interface ContactPointWithDuplicate {
  personId: string;
  channel: 'EMAIL' | 'MOBILE';
  address: string;
  addressKey: string;
  updatedAt: Date;
  lastVerifiedAt: Date | null;
  lastValidatedAt: Date | null;
  /** `_duplisert`: another active person has the same address on the same channel. */
  duplicated: boolean;
}

export interface ChangeFeedPage {
  /** People whose latest change is after the asked number, in change-number order. */
  rows: PersonRow[];
  /** The newest change number in the register when the page was read (0: none yet). */
  latestChangeNumber: number;
}

/** Everything a lookup shows of one person, as one read gives it. */
export interface PersonEntry {
  row: PersonRow;
  contactPoints: ContactPointWithDuplicate[];
  digitalPost: DigitalPostRow | null;
}

/**
 * Batch reads of the person aggregate: one SQL statement per call whatever the number of
 * ids, results in key order with `null` (or an empty list) for ids without a row (the
 * DataLoader contract).
 */
export interface PersonReads {
  /** The whole entry of each person in one statement (the lookup's read model): what `people`, `contactPoints` and `digitalPost` give together. */
  entries(ids: readonly string[]): Promise<(PersonEntry | null)[]>;
  people(ids: readonly string[]): Promise<(PersonRow | null)[]>;
  contactPoints(personIds: readonly string[]): Promise<ContactPointWithDuplicate[][]>;
  digitalPost(personIds: readonly string[]): Promise<(DigitalPostRow | null)[]>;
  /**
   * People whose latest change is after `after`, in change-number order, at most `limit`,
   * and the newest change number, both read from one snapshot: a short or empty page
   * really is the end, and `latestChangeNumber` never steps over a change not shown.
   */
  changePage(after: number, limit: number): Promise<ChangeFeedPage>;
}

/** What one atomic citizen write returns: the plan's result, and the change number it took (null: none). */
export interface Applied<T> {
  result: T;
  changeNumber: number | null;
}

/**
 * The writes of citizen self-service. The store takes no decision here: the planners of
 * `src/domain/citizen-plan.ts` do, on the state the store reads, and the store persists
 * what they planned.
 */
export interface CitizenWrites {
  /**
   * The person's state as planners see it (`CitizenState`), read without a lock: for a
   * cheap early answer before slow work (hashing a code). The code log is read from
   * `now - CODE_LOG_WINDOW_MS`, for the person and for `addressKeys` and the person's
   * current addresses.
   */
  state(id: string, now: Date, addressKeys?: readonly string[]): Promise<CitizenState>;
  /**
   * One atomic write for the one person `id`: holds the person's write lock (across every
   * process on the database) and the locks of `addressKeys` (the addresses the write sends
   * codes to), so limits per address hold across citizens and replicas; reads the state as
   * `state` does; calls `plan` (pure and synchronous) on it; persists the plan. Everything
   * commits together or not at all; a plan with a `change` takes the next change number.
   */
  apply<T>(id: string, now: Date, addressKeys: readonly string[], plan: (state: CitizenState) => CitizenPlan<T>): Promise<Applied<T>>;
}

/** One agency request's lookups: what the audit log appends, as one record, before the answer leaves. */
export interface LookupRecord {
  agencyOrgNumber: string;
  /** The supplier calling on the agency's behalf (delegation); absent or null when the agency called itself. */
  supplierOrgNumber?: string | null;
  /** The people looked up (each once). */
  personIds: readonly string[];
  /** The scopes the request used. */
  scopes: readonly string[];
  /** Where the scopes released for a person differ from `scopes`: that person's. */
  scopesByPerson?: ReadonlyMap<string, readonly string[]>;
  at: Date;
}

/** One lookup of one person, as the citizen looked up sees it. */
export interface LookupEntry {
  /** The request's id: orders a person's lookups (newer is larger) and pages them. */
  id: number;
  personId: string;
  agencyOrgNumber: string;
  supplierOrgNumber: string | null;
  lookedUpAt: Date;
  /** The scopes released for this person, sorted, space-separated (may be empty). */
  scopes: string;
}

/** The lookup audit log: one durable append per agency request, read by the citizen looked up. */
export interface LookupLog {
  /**
   * Records one request's lookups durably: resolves once committed, rejects if they could
   * not be (the caller then withholds the answer). Concurrent requests may share a commit.
   */
  record(record: LookupRecord): Promise<void>;
  /**
   * The newest lookups of a person first; `beforeId` pages back in time. Every committed
   * record counts, indexed yet or not.
   */
  lookupsOf(personId: string, limit: number, beforeId?: number): Promise<LookupEntry[]>;
  countLookupsOf(personId: string): Promise<number>;
}

/** The store calls made for one request; their SQL statements count into that request's counter. */
export interface RequestStore {
  people: PersonReads;
  citizen: CitizenWrites;
  lookups: LookupLog;
}

/**
 * What the import hands the bulk path: a person's whole entry, or word that the person's
 * (later) record says they are not registered: an earlier record of them in the same import
 * is dropped, and their entry in the register is left as it is.
 */
export type StagedPerson = PersonRecord | { id: string; notRegistered: true };

export interface BulkImportResult {
  /** People written: the last record of each person staged, unless it was `notRegistered`. */
  written: number;
  /** Staged records overridden by a later one of the same person. */
  overridden: number;
  /** People whose last staged record was `notRegistered`. */
  notRegistered: number;
  /** The change numbers taken (one per person written, in staging order); null when none. */
  changeNumbers: { first: number; last: number } | null;
}

/**
 * A bulk import in progress (`RegisterStore.startBulkImport`). `stage` puts people aside,
 * outside the register, in the order given; `commit` writes them all into the register in
 * ONE transaction, replacing whole entries as `replacePeople` does, each person written
 * taking the next change number in the order of their last staged record; `abort` (or the
 * process dying at any moment, SIGKILL included) leaves the register as it was. Staging
 * holds no lock on the register: only `commit` does, for the time of the write.
 */
export interface BulkImport {
  /** People as staging rows (src/store/bulk-rows.ts): every batch of an import from one `StagingRows`. */
  stage(batch: StagingBatch): Promise<void>;
  commit(): Promise<BulkImportResult>;
  /** Drops what was staged. Safe to call twice, and after `commit`. */
  abort(): Promise<void>;
}

/** Follower mode: where this copy stands in its upstream's change feed (`upstream_sync`). */
export interface UpstreamPosition {
  /** The upstream's base URL the position belongs to. */
  upstream: string;
  /** The last upstream change number applied (the last page's `tilEndringsId`). */
  position: number;
  /** The upstream's newest change number (`sisteEndringsId`) last seen. */
  latest: number;
  /** The last time the copy was caught up (held everything the upstream had); null before the first time. */
  lastSuccessAt: Date | null;
}

/** One checked page of the upstream's feed, ready to apply. */
export interface UpstreamPage {
  upstream: string;
  /** The position the page was asked after: it applies only if the copy still stands there. */
  after: number;
  /** The new position (`tilEndringsId`). */
  to: number;
  /** `sisteEndringsId`. */
  latest: number;
  /** Whole entries, one per person (the page's latest), in page order; DELETED for `SLETTET`. */
  records: readonly PersonRecord[];
  /** When the upstream answered: the new `lastSuccessAt` if the page catches up (`to >= latest`). */
  at: Date;
}

/** A position already stored for another upstream: refused rather than mixed. */
export class UpstreamMismatchError extends Error {
  override name = 'UpstreamMismatchError';
}

export interface FollowerLock {
  /** False once the lock is lost (its connection ended): stop following. */
  held(): boolean;
  release(): Promise<void>;
}

export interface SeedOptions {
  count: number;
  seed: number;
  now: Date;
}

export interface RegisterStore {
  readonly kind: StoreKind;
  /** Where the data is, for logs: a file path, or a URL without its password. */
  readonly location: string;
  /** Every SQL statement this store ran (all requests together). */
  readonly statements: StatementCounter;
  /**
   * The store for one request, counting its statements into `counter`. Cheap: call it per
   * request. `reads: 'replica'` lets the request's person and feed reads go to a read
   * replica where one is configured (PostgreSQL with KRR_DATABASE_READ_URL): for agency
   * lookups, which may be a moment behind the primary. `'primary'` (the default) for
   * citizens, who must read their own writes. Writes and the audit log always go to the
   * primary.
   */
  forRequest(counter: StatementCounter, reads?: ReadRouting): RequestStore;
  /**
   * Writes whole entries, replacing what was there, in one transaction (the import, tests).
   * Each person takes the next change number, in the order given; returns those numbers.
   */
  replacePeople(records: readonly PersonRecord[], kind: ChangeKind, at: Date): Promise<number[]>;
  /** Starts a bulk import (the import CLI): millions of people in bounded memory, all or nothing. */
  startBulkImport(kind: ChangeKind, at: Date): Promise<BulkImport>;
  countPeople(): Promise<number>;
  /** Follower mode: the stored position, or null before the first page. */
  upstreamPosition(): Promise<UpstreamPosition | null>;
  /**
   * Follower mode: writes the page's people (each taking this copy's own next change number,
   * kind UPSTREAM, as `replacePeople` does) and the new position in ONE transaction. Only
   * if the stored position is still `page.after` (no row counts as `page.after` too: the
   * start); returns false, writing nothing, when another follower moved it meanwhile.
   * Throws `UpstreamMismatchError` when the stored position belongs to another upstream.
   */
  applyUpstreamPage(page: UpstreamPage): Promise<boolean>;
  /**
   * Follower mode, PostgreSQL with several replicas: resolves with a lock once this process
   * may follow (exactly one at a time; another gets it when the holder dies or releases).
   * `signal` gives up waiting. SQLite: granted at once (one process follows; see main.ts).
   */
  followerLock(signal: AbortSignal): Promise<FollowerLock>;
  /** Up to `limit` ids of synthetic (month + 80) people, oldest change first: sample data for GraphiQL. */
  syntheticSampleIds(limit: number): Promise<string[]>;
  /** Which of `ids` have an entry. */
  registeredAmong(ids: readonly string[]): Promise<Set<string>>;
  /**
   * Seeds a deterministic synthetic population if the register is empty, and returns how
   * many people it wrote (0 when it was not empty). Safe when several processes start on
   * one database together: exactly one of them seeds, and the others return only once it
   * has finished.
   */
  seedIfEmpty(options: SeedOptions, onProgress?: (done: number, total: number) => void): Promise<number>;
  /**
   * Where request counts for rate limits live: `points` per `durationSeconds` per key. On
   * PostgreSQL in the database, shared by every replica; on SQLite in this process's memory.
   */
  rateLimiter(points: number, durationSeconds: number): RateLimiterAbstract;
  /**
   * Starts this process's share of the audit log's background work: deriving the per-person
   * index behind `lookupsOf` from the log (every second, catching up first: after a crash it
   * finds where it was), and deleting records older than `retentionDays` (0: never) a few at
   * a time. Safe with several processes on one database. Stopped by `close`.
   */
  startAuditMaintenance(retentionDays: number, onError?: (error: unknown) => void): void;
  /** Resolves when the database answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
