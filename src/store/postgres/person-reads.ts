import type pg from 'pg';
import type { ChangeFeedPage, ContactPointWithDuplicate, DigitalPostRow, PersonEntry, PersonReads, PersonRow, StatementCounter } from '../types';
import { CountingClient, inTransaction } from './executor';
import { instantFromMillis } from '../../domain/instant';

/**
 * `person` with its columns aliased to `PersonRow`'s keys: node-postgres gives `Date` for
 * timestamptz, `boolean` for boolean, and (the pool's parser) `number` for int8, so each
 * row is a `PersonRow` as it comes.
 */
const PERSON_COLUMNS = `person.id, status, reserved, reserved_at as "reservedAt", reservation_updated_at as "reservationUpdatedAt",
  language, language_updated_at as "languageUpdatedAt", updated_at as "updatedAt", change_number as "changeNumber"`;

/**
 * Named prepared statements: each connection parses and plans them once. All ids of a
 * batch travel as one text[] parameter, so one statement serves every batch size.
 *
 * The ids are joined as a set (`join unnest($1::text[])`), not filtered with
 * `id = any($1::text[])`: for a batch of 1000 the planner turns `= any` into a sequential
 * scan of the whole table (measured at 100 000 people: 9-20 ms per table, growing with the
 * register), while the join probes the primary key once per id (3-4 ms, whatever the
 * register's size). The callers send each id once (`distinct`), so no row comes twice.
 */
const IDS = `unnest($1::text[]) as ids(id)`;

/**
 * An instant as milliseconds since the epoch (float8: node-postgres reads it with
 * `parseFloat`), not `timestamptz`, which node-postgres parses from text with a regular
 * expression per value: some 7 000 a 1000-id lookup, 4 ms of it. Exactly the milliseconds
 * node-postgres's parser gave (microseconds dropped), in float8 arithmetic that is exact:
 * the minute's epoch (a multiple of 60) times 1000, plus the whole milliseconds within it.
 * (`extract` computes in numeric, dearer on the server than the text form; the epoch alone
 * times 1000 is off by one for some instants, float8 carrying only so many digits.)
 */
const millis = (column: string) =>
  `(date_part('epoch', date_trunc('minute', ${column}, 'UTC')) * 1000 + floor(date_part('microseconds', ${column} at time zone 'UTC') / 1000))`;

/**
 * Everything a lookup shows, from the read model `person_lookup` (one row per person, kept
 * by triggers) and the two duplicate counts from `address_use`: primary-key probes only.
 * A flag: another ACTIVE person holds the key (the count, less the person if active).
 */
const ENTRIES: pg.QueryConfig = {
  name: 'krr-person-entries',
  text: `select l.id, l.status, l.reserved, ${millis('l.reserved_at')} as "reservedAt", ${millis('l.reservation_updated_at')} as "reservationUpdatedAt",
      l.language, ${millis('l.language_updated_at')} as "languageUpdatedAt", ${millis('l.updated_at')} as "updatedAt", l.change_number as "changeNumber",
      l.email_address as "emailAddress", l.email_address_key as "emailAddressKey", ${millis('l.email_updated_at')} as "emailUpdatedAt",
      ${millis('l.email_last_verified_at')} as "emailLastVerifiedAt", ${millis('l.email_last_validated_at')} as "emailLastValidatedAt",
      coalesce(ue.active_people, 0) - (l.status = 'ACTIVE')::int > 0 as "emailDuplicated",
      l.mobile_address as "mobileAddress", l.mobile_address_key as "mobileAddressKey", ${millis('l.mobile_updated_at')} as "mobileUpdatedAt",
      ${millis('l.mobile_last_verified_at')} as "mobileLastVerifiedAt", ${millis('l.mobile_last_validated_at')} as "mobileLastValidatedAt",
      coalesce(um.active_people, 0) - (l.status = 'ACTIVE')::int > 0 as "mobileDuplicated",
      l.mailbox_address as "mailboxAddress", l.provider_org_number as "providerOrgNumber", k.value as certificate
    from ${IDS} join person_lookup l on l.id = ids.id
      left join certificate k on k.id = l.certificate_id
      left join address_use ue on ue.channel = 'EMAIL' and ue.address_key = l.email_address_key
      left join address_use um on um.channel = 'MOBILE' and um.address_key = l.mobile_address_key`,
};

/** A row of `ENTRIES`: instants as milliseconds (`millis`). */
interface LookupRow {
  id: string;
  status: PersonRow['status'];
  reserved: boolean;
  reservedAt: number | null;
  reservationUpdatedAt: number | null;
  language: PersonRow['language'];
  languageUpdatedAt: number | null;
  updatedAt: number;
  changeNumber: number;
  emailAddress: string | null;
  emailAddressKey: string | null;
  emailUpdatedAt: number | null;
  emailLastVerifiedAt: number | null;
  emailLastValidatedAt: number | null;
  emailDuplicated: boolean;
  mobileAddress: string | null;
  mobileAddressKey: string | null;
  mobileUpdatedAt: number | null;
  mobileLastVerifiedAt: number | null;
  mobileLastValidatedAt: number | null;
  mobileDuplicated: boolean;
  mailboxAddress: string | null;
  providerOrgNumber: string | null;
  certificate: string | null;
}

const personRowOf = (r: LookupRow): PersonRow => ({
  id: r.id,
  status: r.status,
  reserved: r.reserved,
  reservedAt: instantFromMillis(r.reservedAt),
  reservationUpdatedAt: instantFromMillis(r.reservationUpdatedAt),
  language: r.language,
  languageUpdatedAt: instantFromMillis(r.languageUpdatedAt),
  updatedAt: new Date(r.updatedAt),
  changeNumber: r.changeNumber,
});

function contactPointsOf(r: LookupRow): ContactPointWithDuplicate[] {
  const points: ContactPointWithDuplicate[] = [];
  if (r.emailAddress !== null) {
    points.push({
      personId: r.id,
      channel: 'EMAIL',
      address: r.emailAddress,
      addressKey: r.emailAddressKey!,
      updatedAt: new Date(r.emailUpdatedAt!),
      lastVerifiedAt: instantFromMillis(r.emailLastVerifiedAt),
      lastValidatedAt: instantFromMillis(r.emailLastValidatedAt),
      duplicated: r.emailDuplicated,
    });
  }
  if (r.mobileAddress !== null) {
    points.push({
      personId: r.id,
      channel: 'MOBILE',
      address: r.mobileAddress,
      addressKey: r.mobileAddressKey!,
      updatedAt: new Date(r.mobileUpdatedAt!),
      lastVerifiedAt: instantFromMillis(r.mobileLastVerifiedAt),
      lastValidatedAt: instantFromMillis(r.mobileLastValidatedAt),
      duplicated: r.mobileDuplicated,
    });
  }
  return points;
}

const digitalPostOf = (r: LookupRow): DigitalPostRow | null =>
  r.mailboxAddress === null ? null : { personId: r.id, mailboxAddress: r.mailboxAddress, providerOrgNumber: r.providerOrgNumber!, certificate: r.certificate };

const CHANGED_AFTER: pg.QueryConfig = {
  name: 'krr-changed-after',
  text: `select ${PERSON_COLUMNS} from person where change_number > $1 order by change_number limit $2`,
};

/** The newest number handed out and committed, as the snapshot sees it (the counter moves with change_log). */
const LATEST: pg.QueryConfig = { name: 'krr-latest-change', text: 'select last_change_number as n from change_counter where id = 1' };

/** Each id once (DataLoader sends them so already; other callers may not). */
function distinct(ids: readonly string[]): readonly string[] {
  const set = new Set(ids);
  return set.size === ids.length ? ids : [...set];
}

/**
 * Batch reads of the person aggregate (the hot path of every lookup): plain SQL, one
 * statement per call whatever the number of ids, from the read model; results in key order
 * with `null` (or an empty list) for ids without a row.
 */
export class PgPersonReads implements PersonReads {
  private readonly q: CountingClient;

  constructor(
    private readonly pool: pg.Pool,
    private readonly counters: readonly StatementCounter[],
  ) {
    this.q = new CountingClient(pool, counters);
  }

  private async read(ids: readonly string[]): Promise<Map<string, LookupRow>> {
    const { rows } = await this.q.query<LookupRow>(ENTRIES, [distinct(ids)]);
    const byId = new Map<string, LookupRow>();
    for (const row of rows) byId.set(row.id, row);
    return byId;
  }

  async entries(ids: readonly string[]): Promise<(PersonEntry | null)[]> {
    const byId = await this.read(ids);
    return ids.map((id) => {
      const r = byId.get(id);
      return r ? { row: personRowOf(r), contactPoints: contactPointsOf(r), digitalPost: digitalPostOf(r) } : null;
    });
  }

  async people(ids: readonly string[]): Promise<(PersonRow | null)[]> {
    const byId = await this.read(ids);
    return ids.map((id) => {
      const r = byId.get(id);
      return r ? personRowOf(r) : null;
    });
  }

  async contactPoints(personIds: readonly string[]): Promise<ContactPointWithDuplicate[][]> {
    const byId = await this.read(personIds);
    return personIds.map((id) => {
      const r = byId.get(id);
      return r ? contactPointsOf(r) : [];
    });
  }

  async digitalPost(personIds: readonly string[]): Promise<(DigitalPostRow | null)[]> {
    const byId = await this.read(personIds);
    return personIds.map((id) => {
      const r = byId.get(id);
      return r ? digitalPostOf(r) : null;
    });
  }

  /**
   * The page and the newest change number from one REPEATABLE READ READ ONLY snapshot (two
   * statements; BEGIN/COMMIT not counted). Writers take numbers from the change counter in
   * commit order, so the snapshot holds changes 1..n and nothing after: a short or empty
   * page really is the end. Read-only REPEATABLE READ never fails with a serialization error.
   */
  changePage(after: number, limit: number): Promise<ChangeFeedPage> {
    return inTransaction(this.pool, this.counters, 'repeatable read read only', async ({ q }) => {
      const { rows } = await q.query<PersonRow>(CHANGED_AFTER, [after, limit]);
      const latest = await q.query<{ n: number }>(LATEST);
      return { rows, latestChangeNumber: latest.rows[0]?.n ?? 0 };
    });
  }
}
