import { and, eq, gt, lt, lte, sql } from 'drizzle-orm';
import type pg from 'pg';
import { contactPoint, person, verificationCode } from '../../../db/schema.pg';
import type { Channel } from '../../notify/notifier';
import type { ChannelChange, CitizenWrites, PendingCode, StatementCounter } from '../types';
import { channelRow, pendingCodeRow } from '../citizen-rows';
import { recordChange } from './connection';
import { CountingClient, drizzleOn, inTransaction, lockPerson, type Drizzle, type Tx } from './executor';

/**
 * The writes of citizen self-service over PostgreSQL, method for method the semantics of
 * the SQLite store. Each write is one READ COMMITTED transaction:
 *
 * 1. first, the person's advisory lock (`lockPerson`): one writer per person across every
 *    process, so no write decides on a stale read (`setChannels` keeping the stamps of the
 *    same address) and no two writes of one person deadlock on each other's rows;
 * 2. the body, as in the SQLite store;
 * 3. last, the change number (`recordChange`: the change counter, held to the commit), then
 *    the person's `change_number` and `updated_at`.
 *
 * No network I/O and no scrypt inside: the callers hash and notify outside the store.
 */
export class PgCitizenWrites implements CitizenWrites {
  private db: Drizzle | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly counters: readonly StatementCounter[],
  ) {}

  private write<T>(id: string, body: (tx: Tx) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, this.counters, 'read committed', async (tx) => {
      await lockPerson(tx.client, id);
      return body(tx);
    });
  }

  /** Creates the person as ACTIVE on their first write; re-activates a deleted entry. */
  private async ensureActive(db: Drizzle, id: string, now: Date): Promise<void> {
    await db
      .insert(person)
      .values({ id, status: 'ACTIVE', reserved: false, updatedAt: now, changeNumber: 0 })
      .onConflictDoUpdate({ target: person.id, set: { status: 'ACTIVE' } });
  }

  /** Stamps the change on the person, last in the transaction: the next change number, then `updated_at`. */
  private async touch(db: Drizzle, id: string, kind: string, now: Date, set: Partial<typeof person.$inferInsert> = {}): Promise<number> {
    const changeNumber = await recordChange(db, id, kind, now);
    await db
      .update(person)
      .set({ ...set, updatedAt: now, changeNumber })
      .where(eq(person.id, id));
    return changeNumber;
  }

  setChannels(id: string, changes: readonly ChannelChange[], now: Date, expiresAt: Date): Promise<number> {
    return this.write(id, async ({ db }) => {
      await this.ensureActive(db, id, now);
      for (const change of changes) {
        const [current] = await db
          .select({ addressKey: contactPoint.addressKey })
          .from(contactPoint)
          .where(and(eq(contactPoint.personId, id), eq(contactPoint.channel, change.channel)));
        const sameAddress = current?.addressKey === change.addressKey;
        const values = channelRow(id, change, now, sameAddress);
        await db
          .insert(contactPoint)
          .values(values)
          .onConflictDoUpdate({ target: [contactPoint.personId, contactPoint.channel], set: values });
        const code = pendingCodeRow(id, change.channel, change.address, change.codeHash, now, expiresAt);
        await db
          .insert(verificationCode)
          .values(code)
          .onConflictDoUpdate({ target: [verificationCode.personId, verificationCode.channel], set: code });
      }
      return this.touch(db, id, 'CONTACT_INFO_UPDATED', now);
    });
  }

  /** One read in autocommit: no lock, no transaction. */
  async pendingCode(id: string, channel: Channel): Promise<PendingCode | undefined> {
    this.db ??= drizzleOn(new CountingClient(this.pool, this.counters));
    const [row] = await this.db
      .select()
      .from(verificationCode)
      .where(and(eq(verificationCode.personId, id), eq(verificationCode.channel, channel)));
    return row;
  }

  /** Under the person lock; takes no change number (a code is not part of the entry). */
  replaceCode(id: string, channel: Channel, codeHash: string, now: Date, expiresAt: Date): Promise<{ address: string } | null> {
    return this.write(id, async ({ db }) => {
      const [current] = await db
        .select({ address: contactPoint.address })
        .from(contactPoint)
        .where(and(eq(contactPoint.personId, id), eq(contactPoint.channel, channel)));
      if (!current) return null;
      const code = pendingCodeRow(id, channel, current.address, codeHash, now, expiresAt);
      await db
        .insert(verificationCode)
        .values(code)
        .onConflictDoUpdate({ target: [verificationCode.personId, verificationCode.channel], set: code });
      return current;
    });
  }

  /** Under the person lock; takes no change number. */
  takeAttempt(id: string, channel: Channel, codeHash: string, maxAttempts: number): Promise<number | null> {
    return this.write(id, async ({ db }) => {
      const [row] = await db
        .update(verificationCode)
        .set({ failedAttempts: sql`${verificationCode.failedAttempts} + 1` })
        .where(
          and(
            eq(verificationCode.personId, id),
            eq(verificationCode.channel, channel),
            eq(verificationCode.codeHash, codeHash),
            lt(verificationCode.failedAttempts, maxAttempts),
          ),
        )
        .returning({ failedAttempts: verificationCode.failedAttempts });
      return row?.failedAttempts ?? null;
    });
  }

  /**
   * As in the SQLite store: a code that matches, is within its attempts (this check's was
   * taken already) and unexpired is used up even
   * when its address is no longer the channel's (then false, and nothing is stamped).
   */
  consumeCode(id: string, channel: Channel, codeHash: string, maxAttempts: number, now: Date): Promise<boolean> {
    return this.write(id, async ({ db }) => {
      const [used] = await db
        .delete(verificationCode)
        .where(
          and(
            eq(verificationCode.personId, id),
            eq(verificationCode.channel, channel),
            eq(verificationCode.codeHash, codeHash),
            lte(verificationCode.failedAttempts, maxAttempts),
            gt(verificationCode.expiresAt, now),
          ),
        )
        .returning({ address: verificationCode.address });
      if (!used) return false;
      const stamp = channel === 'EMAIL' ? { lastValidatedAt: now } : { lastVerifiedAt: now };
      const [stamped] = await db
        .update(contactPoint)
        .set(stamp)
        .where(and(eq(contactPoint.personId, id), eq(contactPoint.channel, channel), eq(contactPoint.address, used.address)))
        .returning({ channel: contactPoint.channel });
      if (!stamped) return false;
      await this.touch(db, id, channel === 'EMAIL' ? 'EMAIL_VALIDATED' : 'MOBILE_VERIFIED', now);
      return true;
    });
  }

  confirmChannels(id: string, now: Date): Promise<number> {
    return this.write(id, async ({ db }) => {
      const confirmed = (await db.update(contactPoint).set({ lastVerifiedAt: now }).where(eq(contactPoint.personId, id)).returning({ channel: contactPoint.channel })).length;
      if (confirmed > 0) await this.touch(db, id, 'CONTACT_INFO_CONFIRMED', now);
      return confirmed;
    });
  }

  setReservation(id: string, reserved: boolean, now: Date): Promise<void> {
    return this.write(id, async ({ db }) => {
      await this.ensureActive(db, id, now);
      const [current] = await db.select({ reserved: person.reserved, reservedAt: person.reservedAt }).from(person).where(eq(person.id, id));
      // reservedAt says since when the person has been reserved: kept when already reserved.
      const reservedAt = reserved ? (current?.reserved ? current.reservedAt : now) : null;
      await this.touch(db, id, reserved ? 'RESERVED' : 'RESERVATION_LIFTED', now, { reserved, reservedAt, reservationUpdatedAt: now });
    });
  }

  setLanguage(id: string, language: 'nb' | 'nn' | 'en' | 'se', now: Date): Promise<void> {
    return this.write(id, async ({ db }) => {
      await this.ensureActive(db, id, now);
      await this.touch(db, id, 'LANGUAGE_SET', now, { language, languageUpdatedAt: now });
    });
  }

  deleteChannels(id: string, now: Date): Promise<number> {
    return this.write(id, async ({ db }) => {
      await db.delete(verificationCode).where(eq(verificationCode.personId, id));
      const removed = (await db.delete(contactPoint).where(eq(contactPoint.personId, id)).returning({ channel: contactPoint.channel })).length;
      if (removed > 0) await this.touch(db, id, 'CONTACT_INFO_DELETED', now);
      return removed;
    });
  }
}
