import { eq, sql } from 'drizzle-orm';
import { certificate, changeLog, contactPoint, digitalPost, person } from '../../../db/schema';
import type { ChangeKind } from '../../domain/change-kind';
import { addressKey } from '../../domain/contact-address';
import type { PersonRecord } from '../types';
import type { Db } from './connection';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Takes the next change number for a person by appending to the change log. Must run
 * inside the transaction that makes the change, so the number and the change commit or
 * roll back together and the numbers have no gaps.
 */
export function recordChange(tx: Tx | Db, personId: string, kind: ChangeKind, at: Date): number {
  const row = tx.insert(changeLog).values({ personId, changedAt: at, kind }).returning({ changeNumber: changeLog.changeNumber }).get();
  return row.changeNumber;
}

/**
 * Writes a person's whole entry, replacing what was there. Synchronous on purpose:
 * call it inside `db.transaction(tx => ...)` (better-sqlite3 transactions must not await).
 */
export function replacePerson(tx: Tx | Db, record: PersonRecord, kind: ChangeKind, at: Date): number {
  const changeNumber = recordChange(tx, record.id, kind, at);
  const row = {
    id: record.id,
    status: record.status,
    reserved: record.reserved,
    reservedAt: record.reservedAt,
    reservationUpdatedAt: record.reservationUpdatedAt,
    language: record.language,
    languageUpdatedAt: record.languageUpdatedAt,
    updatedAt: record.updatedAt,
    changeNumber,
  };
  tx.insert(person).values(row).onConflictDoUpdate({ target: person.id, set: row }).run();
  tx.delete(contactPoint).where(eq(contactPoint.personId, record.id)).run();
  const points = [
    record.email && { personId: record.id, channel: 'EMAIL' as const, addressKey: addressKey('EMAIL', record.email.address), ...record.email },
    record.mobile && { personId: record.id, channel: 'MOBILE' as const, addressKey: addressKey('MOBILE', record.mobile.address), ...record.mobile },
  ].filter((p) => p !== null);
  if (points.length > 0) tx.insert(contactPoint).values(points).run();
  tx.delete(digitalPost).where(eq(digitalPost.personId, record.id)).run();
  if (record.digitalPost) {
    const { mailboxAddress, providerOrgNumber } = record.digitalPost;
    const certificateId = certificateIdOf(tx, record.digitalPost.certificate);
    tx.insert(digitalPost).values({ personId: record.id, mailboxAddress, providerOrgNumber, certificateId }).run();
  }
  return changeNumber;
}

/** The register's id of a certificate value (`certificate`: each value once), added when it is new; inside the write's transaction. */
function certificateIdOf(tx: Tx | Db, value: string | null): number | null {
  if (value === null) return null;
  const known = tx.select({ id: certificate.id }).from(certificate).where(eq(certificate.value, value)).get();
  return known ? known.id : tx.insert(certificate).values({ value }).returning({ id: certificate.id }).get().id;
}

export function countPeople(db: Db): number {
  return db.select({ n: sql<number>`count(*)` }).from(person).get()?.n ?? 0;
}

/** Up to `limit` ids of synthetic (month + 80) people, oldest first: sample data for GraphiQL. */
export function syntheticSampleIds(db: Db, limit: number): string[] {
  return db
    .select({ id: person.id })
    .from(person)
    .where(sql`substr(${person.id}, 3, 1) in ('8', '9')`)
    .orderBy(person.changeNumber)
    .limit(limit)
    .all()
    .map((r) => r.id);
}
