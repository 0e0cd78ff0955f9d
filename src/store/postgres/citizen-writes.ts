import { and, eq, getTableColumns, gt, inArray, lt, or } from 'drizzle-orm';
import type pg from 'pg';
import { codeLog, contactPoint, person, verificationCode } from '../../../db/schema.pg';
import { CODE_LOG_WINDOW_MS, type CitizenPlan, type CitizenState } from '../../domain/citizen-plan';
import type { Applied, CitizenWrites, StatementCounter } from '../types';
import { recordChange } from './connection';
import { CountingClient, drizzleOn, inTransaction, lockAddresses, lockPerson, type Drizzle } from './executor';

// The columns of the planners' state: every column but the keys and bookkeeping.
const { id: _id, updatedAt: _updatedAt, changeNumber: _changeNumber, ...PERSON_FIELDS } = getTableColumns(person);
const { personId: _channelPerson, ...CHANNEL_FIELDS } = getTableColumns(contactPoint);
const { personId: _codePerson, ...CODE_FIELDS } = getTableColumns(verificationCode);
const { id: _logId, ...LOG_FIELDS } = getTableColumns(codeLog);

/** Code-log rows past their window deleted per write. */
const PRUNE_BATCH = 20;

/**
 * The writes of citizen self-service over PostgreSQL: reads a person's state and persists
 * what the planners (src/domain/citizen-plan.ts) decided, as the SQLite store does. Each
 * write is one READ COMMITTED transaction:
 *
 * 1. first, the person's advisory lock (`lockPerson`): one writer per person across every
 *    process, so no plan is made on a stale read (`setChannels` keeping the stamps of the
 *    same address, an attempt counted twice) and no two writes of one person deadlock;
 * 2. the locks of the addresses the write sends codes to (`lockAddresses`), then the state
 *    and the code log, so the limits per address hold across citizens and replicas;
 * 3. the plan's rows;
 * 4. last, the change number (`recordChange`: the change counter, held to the commit), then
 *    the person's row with its `change_number` and `updated_at`.
 *
 * No network I/O and no scrypt inside: the callers hash and notify outside the store.
 */
export class PgCitizenWrites implements CitizenWrites {
  private db: Drizzle | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly counters: readonly StatementCounter[],
  ) {}

  /** Reads in autocommit: no lock, no transaction. */
  async state(id: string, now: Date, addressKeys: readonly string[] = []): Promise<CitizenState> {
    this.db ??= drizzleOn(new CountingClient(this.pool, this.counters));
    const db = this.db;
    const { row, channels, codes } = await readEntry(db, id);
    return { id, person: row, channels, codes, codeLog: await readLog(db, id, now, keysOf(addressKeys, channels)) };
  }

  apply<T>(id: string, now: Date, addressKeys: readonly string[], plan: (state: CitizenState) => CitizenPlan<T>): Promise<Applied<T>> {
    return inTransaction(this.pool, this.counters, 'read committed', async ({ db, client }) => {
      await lockPerson(client, id);
      // Only the addresses named: a write that sends no code counts nothing per address.
      await lockAddresses(client, addressKeys);
      const { row, channels, codes } = await readEntry(db, id);
      const state: CitizenState = { id, person: row, channels, codes, codeLog: await readLog(db, id, now, keysOf(addressKeys, channels)) };
      const planned = plan(state);
      return { result: planned.result, changeNumber: await persist(db, state, planned, now) };
    });
  }
}

const keysOf = (addressKeys: readonly string[], channels: readonly { addressKey: string }[]) => [...new Set([...addressKeys, ...channels.map((c) => c.addressKey)])];

/** One statement after the other: inside a transaction they share one connection. */
async function readEntry(db: Drizzle, id: string) {
  const [row] = await db
    .select(PERSON_FIELDS)
    .from(person)
    .where(eq(person.id, id));
  const channels = await db
    .select(CHANNEL_FIELDS)
    .from(contactPoint)
    .where(eq(contactPoint.personId, id));
  const codes = await db
    .select(CODE_FIELDS)
    .from(verificationCode)
    .where(eq(verificationCode.personId, id));
  return { row: row ?? null, channels, codes };
}

function readLog(db: Drizzle, id: string, now: Date, keys: readonly string[]) {
  const since = new Date(now.getTime() - CODE_LOG_WINDOW_MS);
  return db
    .select(LOG_FIELDS)
    .from(codeLog)
    .where(and(gt(codeLog.at, since), keys.length > 0 ? or(eq(codeLog.personId, id), inArray(codeLog.addressKey, [...keys])) : eq(codeLog.personId, id)));
}

/** Writes the plan; returns the change number it took. */
async function persist<T>(db: Drizzle, state: CitizenState, plan: CitizenPlan<T>, now: Date): Promise<number | null> {
  const id = state.id;
  if (plan.change && !state.person) {
    await db.insert(person).values({ id, ...plan.change.person, updatedAt: now, changeNumber: 0 });
  }
  if (plan.removeCodes?.length) await db.delete(verificationCode).where(and(eq(verificationCode.personId, id), inArray(verificationCode.channel, [...plan.removeCodes])));
  if (plan.removeChannels?.length) await db.delete(contactPoint).where(and(eq(contactPoint.personId, id), inArray(contactPoint.channel, [...plan.removeChannels])));
  for (const channel of plan.putChannels ?? []) {
    const values = { personId: id, ...channel };
    await db.insert(contactPoint).values(values).onConflictDoUpdate({ target: [contactPoint.personId, contactPoint.channel], set: values });
  }
  for (const code of plan.putCodes ?? []) {
    const values = { personId: id, ...code };
    await db.insert(verificationCode).values(values).onConflictDoUpdate({ target: [verificationCode.personId, verificationCode.channel], set: values });
  }
  if (plan.log?.length) await db.insert(codeLog).values(plan.log.map((e) => ({ personId: id, ...e })));
  if (plan.pruneLogBefore) {
    const old = db.select({ id: codeLog.id }).from(codeLog).where(lt(codeLog.at, plan.pruneLogBefore)).orderBy(codeLog.at).limit(PRUNE_BATCH).for('update', { skipLocked: true });
    // (skip locked: two writes pruning at once must not wait for, or deadlock on, each other's rows)
    await db.delete(codeLog).where(inArray(codeLog.id, old));
  }
  if (!plan.change) return null;
  const changeNumber = await recordChange(db, id, plan.change.kind, now);
  await db
    .update(person)
    .set({ ...plan.change.person, updatedAt: now, changeNumber })
    .where(eq(person.id, id));
  return changeNumber;
}
