/**
 * The lookup audit log as an append (one record per request) with a derived per-person
 * index, on both stores: what a citizen sees does not depend on whether the indexer has
 * caught up, the indexer derives each lookup exactly once, and retention deletes only what
 * is older than KRR_AUDIT_RETENTION_DAYS.
 */
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
});
