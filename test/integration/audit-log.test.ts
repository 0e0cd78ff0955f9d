/**
 * The lookup audit log as an append (one record per request) with a derived per-person
 * index, on both stores: what a citizen sees does not depend on whether the indexer has
 * caught up, the indexer derives each lookup exactly once, and retention deletes only what
 * is older than KRR_AUDIT_RETENTION_DAYS.
 */
import { SEGMENT_ROWS } from '../../src/store/audit-record';
import { StatementCounter, type LookupLog } from '../../src/store/types';
import { syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

const DAY = 86_400_000;

describe('the lookup audit log', () => {
  let register: TestRegister;
  let log: LookupLog;

  beforeEach(async () => {
    register = await createTestRegister();
    log = register.store.forRequest(new StatementCounter()).lookups;
  });

  afterEach(async () => {
    await register.close();
  });

  /** Polls until the indexer has derived every request (nothing left unindexed). */
  async function indexed(requests: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const derived = await register.database.number('select count(distinct request_id) from lookup_person');
      if (derived >= requests) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the indexer did not catch up within 10 s');
  }

  /** Rows of `lookup_person` per segment, and the segments the store keeps. */
  async function segments(): Promise<{ rows: number[][]; kept: number[] }> {
    const rows = await register.database.query<{ segment: number; n: number }>('select segment, count(*) as n from lookup_person group by segment order by segment');
    const kept = await register.database.query<{ segment: number }>('select segment from lookup_segment order by segment');
    return { rows: rows.map((r) => [Number(r.segment), Number(r.n)]), kept: kept.map((r) => Number(r.segment)) };
  }

  /** What a full segment looks like to the indexer, without writing its 250 000 rows. */
  const fillNewestSegment = () => register.database.query('update lookup_segment set rows = ? where segment = (select max(segment) from lookup_segment)', SEGMENT_ROWS);

  it('keeps one record per request, and a citizen sees every lookup before and after indexing, once each', async () => {
    const [a, b, c] = syntheticIds(3, 4242);
    const t0 = new Date('2026-03-01T10:00:00.000Z');
    await log.record({ agencyOrgNumber: '991825827', personIds: [a, b], scopes: ['krr:global/kontaktinformasjon.read'], at: t0 });
    await log.record({
      agencyOrgNumber: '889640782',
      supplierOrgNumber: '984661185',
      personIds: [a, c],
      scopes: ['krr:global/kontaktinformasjon.read', 'krr:global/digitalpost.read'],
      // Only the request's first scope was released for c.
      scopesByPerson: new Map([[c, ['krr:global/kontaktinformasjon.read']]]),
      at: new Date(t0.getTime() + 1000),
    });
    expect(await register.database.number('select count(*) from lookup_request')).toBe(2);

    const expectedForA = [
      {
        personId: a,
        agencyOrgNumber: '889640782',
        supplierOrgNumber: '984661185',
        lookedUpAt: new Date(t0.getTime() + 1000),
        scopes: 'krr:global/digitalpost.read krr:global/kontaktinformasjon.read',
      },
      { personId: a, agencyOrgNumber: '991825827', supplierOrgNumber: null, lookedUpAt: t0, scopes: 'krr:global/kontaktinformasjon.read' },
    ];
    const seen = async () => ({
      a: (await log.lookupsOf(a, 10)).map(({ id: _id, ...rest }) => rest),
      c: (await log.lookupsOf(c, 10)).map((e) => e.scopes),
      counts: [await log.countLookupsOf(a), await log.countLookupsOf(b), await log.countLookupsOf(c)],
    });
    const before = await seen();
    expect(before).toEqual({ a: expectedForA, c: ['krr:global/kontaktinformasjon.read'], counts: [2, 1, 1] });

    register.store.startAuditMaintenance(0);
    await indexed(2);
    expect(await register.database.number('select count(*) from lookup_person')).toBe(4);
    expect(await seen()).toEqual(before);

    // Paging back in time by id: the older lookup only.
    const [newest] = await log.lookupsOf(a, 1);
    expect((await log.lookupsOf(a, 10, newest.id)).map((e) => e.agencyOrgNumber)).toEqual(['991825827']);
    // The operators' view: one row per person looked up.
    expect(await register.database.number('select count(*) from lookup_audit')).toBe(4);
  });

  it('deletes records older than the retention in the background and keeps the rest', async () => {
    const ids = syntheticIds(4, 777);
    const now = Date.now();
    await log.record({ agencyOrgNumber: '991825827', personIds: ids.slice(0, 2), scopes: [], at: new Date(now - 40 * DAY) });
    await log.record({ agencyOrgNumber: '991825827', personIds: ids.slice(1, 3), scopes: [], at: new Date(now - 31 * DAY) });
    await log.record({ agencyOrgNumber: '991825827', personIds: ids.slice(2, 4), scopes: [], at: new Date(now - 29 * DAY) });
    register.store.startAuditMaintenance(30);
    for (let i = 0; i < 200 && (await register.database.number('select count(*) from lookup_request')) > 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await register.database.number('select count(*) from lookup_request')).toBe(1);
    expect(await register.database.number('select count(*) from lookup_person')).toBe(2);
    expect(await Promise.all(ids.map((id) => log.countLookupsOf(id)))).toEqual([0, 0, 1, 1]);
  });

  it('retention goes by time, not by id: expired records behind newer ones (a clock stepped back) go too', async () => {
    const ids = syntheticIds(2, 3131);
    const now = Date.now();
    // More unexpired requests first than one retention batch takes, then expired ones with later ids.
    for (let i = 0; i < 25; i++) await log.record({ agencyOrgNumber: '991825827', personIds: ids.slice(0, 1), scopes: [], at: new Date(now - DAY + i) });
    for (let i = 0; i < 3; i++) await log.record({ agencyOrgNumber: '991825827', personIds: ids.slice(1, 2), scopes: [], at: new Date(now - 40 * DAY + i) });
    register.store.startAuditMaintenance(30);
    for (let i = 0; i < 200 && (await register.database.number('select count(*) from lookup_request')) > 25; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await register.database.number('select count(*) from lookup_request')).toBe(25);
    expect(await Promise.all(ids.map((id) => log.countLookupsOf(id)))).toEqual([25, 0]);
  });

  it('indexes into the newest segment until it is full, then into a new one; a citizen sees, pages and counts across segments', async () => {
    const [a, b] = syntheticIds(2, 5151);
    const t0 = Date.parse('2026-03-01T10:00:00.000Z');
    const lookUp = (k: number, personIds: string[]) => log.record({ agencyOrgNumber: '991825827', personIds, scopes: [], at: new Date(t0 + k * 1000) });
    await lookUp(0, [a, b]);
    await lookUp(1, [a]);
    register.store.startAuditMaintenance(0);
    await indexed(2);
    expect(await segments()).toEqual({ rows: [[0, 3]], kept: [0] });

    await fillNewestSegment();
    await lookUp(2, [a, b]);
    await indexed(3);
    expect(await segments()).toEqual({ rows: [[0, 3], [1, 2]], kept: [0, 1] });
    // Not full: the next request goes into segment 1 too.
    await lookUp(3, [a]);
    await indexed(4);
    expect(await segments()).toEqual({ rows: [[0, 3], [1, 3]], kept: [0, 1] });

    const times = (entries: { lookedUpAt: Date }[]) => entries.map((e) => (e.lookedUpAt.getTime() - t0) / 1000);
    expect(times(await log.lookupsOf(a, 10))).toEqual([3, 2, 1, 0]);
    expect(times(await log.lookupsOf(b, 10))).toEqual([2, 0]);
    expect([await log.countLookupsOf(a), await log.countLookupsOf(b)]).toEqual([4, 2]);
    // Paging back in time from segment 1 into segment 0.
    const [, second] = await log.lookupsOf(a, 2);
    expect(times(await log.lookupsOf(a, 10, second.id))).toEqual([1, 0]);
  });

  it('retention deletes across segments and forgets the segments it emptied, never the newest', async () => {
    const ids = syntheticIds(3, 6161);
    const now = Date.now();
    register.store.startAuditMaintenance(0);
    await log.record({ agencyOrgNumber: '991825827', personIds: ids.slice(0, 2), scopes: [], at: new Date(now - 50 * DAY) });
    await indexed(1);
    await fillNewestSegment();
    await log.record({ agencyOrgNumber: '991825827', personIds: ids.slice(1, 3), scopes: [], at: new Date(now - 40 * DAY) });
    await indexed(2);
    await fillNewestSegment();
    await log.record({ agencyOrgNumber: '991825827', personIds: ids.slice(2, 3), scopes: [], at: new Date(now - DAY) });
    await indexed(3);
    expect(await segments()).toEqual({ rows: [[0, 2], [1, 2], [2, 1]], kept: [0, 1, 2] });

    register.store.startAuditMaintenance(30);
    for (let i = 0; i < 200 && (await register.database.number('select count(*) from lookup_request')) > 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await segments()).toEqual({ rows: [[2, 1]], kept: [2] });
    expect(await Promise.all(ids.map((id) => log.countLookupsOf(id)))).toEqual([0, 0, 1]);

    // Everything expires: the rows go, the newest segment's count stays for the indexer to number on from.
    await register.database.query('update lookup_request set looked_up_at = ?', new Date(now - 60 * DAY));
    for (let i = 0; i < 200 && (await register.database.number('select count(*) from lookup_request')) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await segments()).toEqual({ rows: [], kept: [2] });
    await fillNewestSegment();
    await log.record({ agencyOrgNumber: '991825827', personIds: ids.slice(0, 1), scopes: [], at: new Date() });
    await indexed(1);
    expect(await segments()).toEqual({ rows: [[3, 1]], kept: [2, 3] });
    expect(await log.countLookupsOf(ids[0])).toBe(1);
  });
});
