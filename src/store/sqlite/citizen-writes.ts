import { and, eq, getTableColumns, gt, inArray, lt, or } from 'drizzle-orm';
import { codeLog, contactPoint, person, verificationCode } from '../../../db/schema';
import { CODE_LOG_WINDOW_MS, type CitizenPlan, type CitizenState } from '../../domain/citizen-plan';
import type { Applied, CitizenWrites } from '../types';
import type { Db } from './connection';
import { recordChange } from './person-writer';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

// The columns of the planners' state: every column but the keys and bookkeeping.
const { id: _id, updatedAt: _updatedAt, changeNumber: _changeNumber, ...PERSON_FIELDS } = getTableColumns(person);
const { personId: _channelPerson, ...CHANNEL_FIELDS } = getTableColumns(contactPoint);
const { personId: _codePerson, ...CODE_FIELDS } = getTableColumns(verificationCode);
const { id: _logId, ...LOG_FIELDS } = getTableColumns(codeLog);

/** Code-log rows past their window deleted per write: the log shrinks faster than any write grows it. */
const PRUNE_BATCH = 20;

/**
 * The writes of citizen self-service on SQLite: reads a person's state and persists what
 * the planners (src/domain/citizen-plan.ts) decided. Each write is one `BEGIN IMMEDIATE`
 * transaction: SQLite's one writer at a time is the person's (and the addresses') lock, the
 * change and its change number commit together or not at all, and a second process waits
 * for the write lock instead of failing halfway.
 */
export class SqliteCitizenWrites implements CitizenWrites {
  constructor(
    private readonly db: Db,
    /** Wraps every store call, e.g. to count its statements against the request. */
    private readonly measure: <T>(fn: () => T) => T = (fn) => fn(),
  ) {}

  async state(id: string, now: Date, addressKeys: readonly string[] = []): Promise<CitizenState> {
    return this.measure(() => this.read(this.db, id, now, addressKeys));
  }

  async apply<T>(id: string, now: Date, addressKeys: readonly string[], plan: (state: CitizenState) => CitizenPlan<T>): Promise<Applied<T>> {
    return this.measure(() =>
      this.db.transaction(
        (tx) => {
          const state = this.read(tx, id, now, addressKeys);
          const planned = plan(state);
          return { result: planned.result, changeNumber: this.persist(tx, state, planned, now) };
        },
        { behavior: 'immediate' },
      ),
    );
  }

  private read(tx: Tx | Db, id: string, now: Date, addressKeys: readonly string[]): CitizenState {
    const row = tx
      .select(PERSON_FIELDS)
      .from(person)
      .where(eq(person.id, id))
      .get();
    const channels = tx
      .select(CHANNEL_FIELDS)
      .from(contactPoint)
      .where(eq(contactPoint.personId, id))
      .all();
    const codes = tx
      .select(CODE_FIELDS)
      .from(verificationCode)
      .where(eq(verificationCode.personId, id))
      .all();
    const keys = [...new Set([...addressKeys, ...channels.map((c) => c.addressKey)])];
    const since = new Date(now.getTime() - CODE_LOG_WINDOW_MS);
    const log = tx
      .select(LOG_FIELDS)
      .from(codeLog)
      .where(and(gt(codeLog.at, since), keys.length > 0 ? or(eq(codeLog.personId, id), inArray(codeLog.addressKey, keys)) : eq(codeLog.personId, id)))
      .all();
    return { id, person: row ?? null, channels, codes, codeLog: log };
  }

  /** Writes the plan; returns the change number it took. */
  private persist<T>(tx: Tx, state: CitizenState, plan: CitizenPlan<T>, now: Date): number | null {
    const id = state.id;
    // The person row first (the channels and codes refer to it); numbered last.
    if (plan.change && !state.person) {
      tx.insert(person)
        .values({ id, ...plan.change.person, updatedAt: now, changeNumber: 0 })
        .run();
    }
    if (plan.removeCodes?.length) tx.delete(verificationCode).where(and(eq(verificationCode.personId, id), inArray(verificationCode.channel, [...plan.removeCodes]))).run();
    if (plan.removeChannels?.length) tx.delete(contactPoint).where(and(eq(contactPoint.personId, id), inArray(contactPoint.channel, [...plan.removeChannels]))).run();
    for (const channel of plan.putChannels ?? []) {
      const values = { personId: id, ...channel };
      tx.insert(contactPoint).values(values).onConflictDoUpdate({ target: [contactPoint.personId, contactPoint.channel], set: values }).run();
    }
    for (const code of plan.putCodes ?? []) {
      const values = { personId: id, ...code };
      tx.insert(verificationCode).values(values).onConflictDoUpdate({ target: [verificationCode.personId, verificationCode.channel], set: values }).run();
    }
    if (plan.log?.length) tx.insert(codeLog).values(plan.log.map((e) => ({ personId: id, ...e }))).run();
    if (plan.pruneLogBefore) {
      const old = tx.select({ id: codeLog.id }).from(codeLog).where(lt(codeLog.at, plan.pruneLogBefore)).orderBy(codeLog.at).limit(PRUNE_BATCH);
      tx.delete(codeLog).where(inArray(codeLog.id, old)).run();
    }
    if (!plan.change) return null;
    const changeNumber = recordChange(tx, id, plan.change.kind, now);
    tx.update(person)
      .set({ ...plan.change.person, updatedAt: now, changeNumber })
      .where(eq(person.id, id))
      .run();
    return changeNumber;
  }
}
