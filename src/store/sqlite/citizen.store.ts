import { and, eq, sql } from 'drizzle-orm';
import { contactPoint, person, verificationCode } from '../../../db/schema';
import type { Channel } from '../../notify/notifier';
import type { ChannelChange, CitizenWrites, PendingCode } from '../types';
import { channelRow, pendingCodeRow } from '../citizen-rows';
import type { Db } from './database';
import { recordChange } from './person-writer';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * The writes of citizen self-service on SQLite. Each method is one `BEGIN IMMEDIATE` transaction:
 * the change, the person's new change number and its change-log row commit together or
 * not at all, and a second process waits for the write lock instead of failing halfway.
 */
export class CitizenStore implements CitizenWrites {
  constructor(
    private readonly db: Db,
    /** Wraps every store call, e.g. to count its statements against the request. */
    private readonly measure: <T>(fn: () => T) => T = (fn) => fn(),
  ) {}

  private write<T>(fn: (tx: Tx) => T): T {
    return this.measure(() => this.db.transaction(fn, { behavior: 'immediate' }));
  }

  /** Creates the person as ACTIVE on their first write; re-activates a deleted entry. */
  private ensureActive(tx: Tx, id: string, now: Date): void {
    tx.insert(person)
      .values({ id, status: 'ACTIVE', reserved: false, updatedAt: now, changeNumber: 0 })
      .onConflictDoUpdate({ target: person.id, set: { status: 'ACTIVE' } })
      .run();
  }

  /** Stamps the change on the person: the next change number and `updated_at`. */
  private touch(tx: Tx, id: string, kind: string, now: Date, set: Partial<typeof person.$inferInsert> = {}): number {
    const changeNumber = recordChange(tx, id, kind, now);
    tx.update(person)
      .set({ ...set, updatedAt: now, changeNumber })
      .where(eq(person.id, id))
      .run();
    return changeNumber;
  }

  /**
   * Sets one or both channels. A new address starts unconfirmed and unproven; the same
   * address again keeps its stamps. Either way `updated_at` is stamped and the channel's
   * pending code is replaced by the new one.
   */
  async setChannels(id: string, changes: readonly ChannelChange[], now: Date, expiresAt: Date): Promise<number> {
    return this.write((tx) => {
      this.ensureActive(tx, id, now);
      for (const change of changes) {
        const current = tx
          .select({ addressKey: contactPoint.addressKey })
          .from(contactPoint)
          .where(and(eq(contactPoint.personId, id), eq(contactPoint.channel, change.channel)))
          .get();
        const sameAddress = current?.addressKey === change.addressKey;
        const values = channelRow(id, change, now, sameAddress);
        tx.insert(contactPoint)
          .values(values)
          .onConflictDoUpdate({ target: [contactPoint.personId, contactPoint.channel], set: values })
          .run();
        const code = pendingCodeRow(id, change.channel, change.address, change.codeHash, now, expiresAt);
        tx.insert(verificationCode)
          .values(code)
          .onConflictDoUpdate({ target: [verificationCode.personId, verificationCode.channel], set: code })
          .run();
      }
      return this.touch(tx, id, 'CONTACT_INFO_UPDATED', now);
    });
  }

  async pendingCode(id: string, channel: Channel): Promise<PendingCode | undefined> {
    return this.measure(() =>
      this.db
        .select()
        .from(verificationCode)
        .where(and(eq(verificationCode.personId, id), eq(verificationCode.channel, channel)))
        .get(),
    );
  }

  /** Replaces the pending code for the channel's current address; false when there is no such channel. */
  async replaceCode(id: string, channel: Channel, codeHash: string, now: Date, expiresAt: Date): Promise<{ address: string } | null> {
    return this.write((tx) => {
      const current = tx
        .select({ address: contactPoint.address })
        .from(contactPoint)
        .where(and(eq(contactPoint.personId, id), eq(contactPoint.channel, channel)))
        .get();
      if (!current) return null;
      const code = pendingCodeRow(id, channel, current.address, codeHash, now, expiresAt);
      tx.insert(verificationCode)
        .values(code)
        .onConflictDoUpdate({ target: [verificationCode.personId, verificationCode.channel], set: code })
        .run();
      return current;
    });
  }

  async takeAttempt(id: string, channel: Channel, codeHash: string, maxAttempts: number): Promise<number | null> {
    return this.write((tx) => {
      const row = tx
        .update(verificationCode)
        .set({ failedAttempts: sql`${verificationCode.failedAttempts} + 1` })
        .where(
          and(
            eq(verificationCode.personId, id),
            eq(verificationCode.channel, channel),
            eq(verificationCode.codeHash, codeHash),
            sql`${verificationCode.failedAttempts} < ${maxAttempts}`,
          ),
        )
        .returning({ failedAttempts: verificationCode.failedAttempts })
        .get();
      return row?.failedAttempts ?? null;
    });
  }

  /**
   * Uses up the code (single use) and stamps the proof on the channel: `last_validated_at`
   * for email, `last_verified_at` for mobile. Only if the code checked is still the pending
   * one, within its attempts (this check's was taken already), unexpired, and its address
   * is still the channel's: returns false otherwise.
   */
  async consumeCode(id: string, channel: Channel, codeHash: string, maxAttempts: number, now: Date): Promise<boolean> {
    return this.write((tx) => {
      const used = tx
        .delete(verificationCode)
        .where(
          and(
            eq(verificationCode.personId, id),
            eq(verificationCode.channel, channel),
            eq(verificationCode.codeHash, codeHash),
            sql`${verificationCode.failedAttempts} <= ${maxAttempts}`,
            sql`${verificationCode.expiresAt} > ${now.getTime()}`,
          ),
        )
        .returning({ address: verificationCode.address })
        .get();
      if (!used) return false;
      const stamp = channel === 'EMAIL' ? { lastValidatedAt: now } : { lastVerifiedAt: now };
      const stamped = tx
        .update(contactPoint)
        .set(stamp)
        .where(and(eq(contactPoint.personId, id), eq(contactPoint.channel, channel), eq(contactPoint.address, used.address)))
        .returning({ channel: contactPoint.channel })
        .get();
      if (!stamped) return false;
      this.touch(tx, id, channel === 'EMAIL' ? 'EMAIL_VALIDATED' : 'MOBILE_VERIFIED', now);
      return true;
    });
  }

  /** "My details are still right": stamps `last_verified_at` on every channel. Returns how many. */
  async confirmChannels(id: string, now: Date): Promise<number> {
    return this.write((tx) => {
      const confirmed = tx.update(contactPoint).set({ lastVerifiedAt: now }).where(eq(contactPoint.personId, id)).returning().all().length;
      if (confirmed > 0) this.touch(tx, id, 'CONTACT_INFO_CONFIRMED', now);
      return confirmed;
    });
  }

  async setReservation(id: string, reserved: boolean, now: Date): Promise<void> {
    this.write((tx) => {
      this.ensureActive(tx, id, now);
      const current = tx.select({ reserved: person.reserved, reservedAt: person.reservedAt }).from(person).where(eq(person.id, id)).get();
      // reservedAt says since when the person has been reserved: kept when already reserved.
      const reservedAt = reserved ? (current?.reserved ? current.reservedAt : now) : null;
      this.touch(tx, id, reserved ? 'RESERVED' : 'RESERVATION_LIFTED', now, { reserved, reservedAt, reservationUpdatedAt: now });
    });
  }

  async setLanguage(id: string, language: 'nb' | 'nn' | 'en' | 'se', now: Date): Promise<void> {
    this.write((tx) => {
      this.ensureActive(tx, id, now);
      this.touch(tx, id, 'LANGUAGE_SET', now, { language, languageUpdatedAt: now });
    });
  }

  /** Removes both channels and their pending codes. Returns how many channels there were. */
  async deleteChannels(id: string, now: Date): Promise<number> {
    return this.write((tx) => {
      tx.delete(verificationCode).where(eq(verificationCode.personId, id)).run();
      const removed = tx.delete(contactPoint).where(eq(contactPoint.personId, id)).returning().all().length;
      if (removed > 0) this.touch(tx, id, 'CONTACT_INFO_DELETED', now);
      return removed;
    });
  }
}
