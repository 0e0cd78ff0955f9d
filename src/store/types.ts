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
import type { DigitalPostRow, PersonRow, VerificationCodeRow } from '../../db/schema';
import type { Channel } from '../notify/notifier';

export type StoreKind = 'sqlite' | 'postgres';

/** Where a request's reads may go (see `RegisterStore.forRequest`). */
export type ReadRouting = 'primary' | 'replica';

/** Counts SQL statements (one request's, or a whole store's), so tests and metrics can prove batching. */
export class StatementCounter {
  count = 0;
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

export interface ChannelChange {
  channel: Channel;
  /** As stored: trimmed email, or E.164 mobile. */
  address: string;
  addressKey: string;
  codeHash: string;
}

export type PendingCode = VerificationCodeRow;

/** The writes of citizen self-service, each one atomic, each for the one person `id`. */
export interface CitizenWrites {
  /**
   * Sets one or both channels (creating or re-activating the person). A new address starts
   * unconfirmed and unproven; the same address again keeps its stamps. The channel's pending
   * code is replaced by the new one. Returns the change number.
   */
  setChannels(id: string, changes: readonly ChannelChange[], now: Date, expiresAt: Date): Promise<number>;
  pendingCode(id: string, channel: Channel): Promise<PendingCode | undefined>;
  /** Replaces the pending code for the channel's current address; null when there is no such channel. */
  replaceCode(id: string, channel: Channel, codeHash: string, now: Date, expiresAt: Date): Promise<{ address: string } | null>;
  /**
   * Takes one of the pending code's attempts, before the code is compared: every check
   * counts, so parallel guesses (on one process or several) can check a code at most
   * `maxAttempts` times. Only for the code with this hash (a code replaced meanwhile is
   * not charged), and only while it has attempts left. Returns the attempts taken so far,
   * this one included; null when there is no such code or it has none left.
   */
  takeAttempt(id: string, channel: Channel, codeHash: string, maxAttempts: number): Promise<number | null>;
  /**
   * Uses up the code (single use) and stamps the proof on the channel: `lastValidatedAt`
   * for email, `lastVerifiedAt` for mobile. Only if that code is still the pending one,
   * has taken at most `maxAttempts` attempts, is unexpired and its address is still the
   * channel's; false otherwise.
   */
  consumeCode(id: string, channel: Channel, codeHash: string, maxAttempts: number, now: Date): Promise<boolean>;
  /** "My details are still right": stamps `lastVerifiedAt` on every channel. Returns how many. */
  confirmChannels(id: string, now: Date): Promise<number>;
  setReservation(id: string, reserved: boolean, now: Date): Promise<void>;
  setLanguage(id: string, language: 'nb' | 'nn' | 'en' | 'se', now: Date): Promise<void>;
  /** Removes both channels and their pending codes. Returns how many channels there were. */
  deleteChannels(id: string, now: Date): Promise<number>;
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

/** A person's contact channel, as the seed and the import write it. */
export interface ChannelRecord {
  address: string;
  updatedAt: Date;
  lastVerifiedAt: Date | null;
  lastValidatedAt: Date | null;
}

/** A person's whole entry, as the seed and the import write it. */
export interface PersonRecord {
  id: string;
  status: 'ACTIVE' | 'DELETED';
  reserved: boolean;
  reservedAt: Date | null;
  reservationUpdatedAt: Date | null;
  language: 'nb' | 'nn' | 'en' | 'se' | null;
  languageUpdatedAt: Date | null;
  updatedAt: Date;
  /** Mobile in E.164. */
  email: ChannelRecord | null;
  mobile: ChannelRecord | null;
  digitalPost: { mailboxAddress: string; providerOrgNumber: string; certificate: string | null } | null;
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
  replacePeople(records: readonly PersonRecord[], kind: string, at: Date): Promise<number[]>;
  countPeople(): Promise<number>;
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
