import { generatePopulation } from '../../db/seed/generate';
import { seedPopulation } from '../../db/seed/seed';
import { isChannelUsable } from '../../src/domain/contact-rules';
import { parseIdentityNumber } from '../../src/domain/identity-number';
import { openSqliteDatabase } from '../../src/store/sqlite/connection';
import { countPeople } from '../../src/store/sqlite/person-writer';

const now = new Date('2026-06-15T12:00:00Z');

describe('synthetic population', () => {
  const people = [...generatePopulation({ count: 5000, seed: 42, now })];

  it('is the same for the same seed and reference time, and different for another seed', () => {
    expect([...generatePopulation({ count: 5000, seed: 42, now })]).toEqual(people);
    expect([...generatePopulation({ count: 50, seed: 43, now })].map((p) => p.id)).not.toEqual(people.slice(0, 50).map((p) => p.id));
  });

  it('uses only distinct, valid, synthetic identity numbers', () => {
    expect(new Set(people.map((p) => p.id)).size).toBe(people.length);
    for (const p of people) expect(parseIdentityNumber(p.id)?.synthetic).toBe(true);
  });

  it('has a realistic mix of the cases the rules care about', () => {
    const share = (pred: (p: (typeof people)[number]) => boolean) => people.filter(pred).length / people.length;
    const active = people.filter((p) => p.status === 'ACTIVE');
    const channels = active.flatMap((p) => [p.email, p.mobile]).filter((c) => c !== null);
    const addresses = new Map<string, number>();
    for (const c of channels) addresses.set(c.address.toLowerCase(), (addresses.get(c.address.toLowerCase()) ?? 0) + 1);

    expect(share((p) => p.status === 'DELETED')).toBeGreaterThan(0.01);
    expect(share((p) => p.reserved)).toBeGreaterThan(0.04);
    expect(share((p) => p.status === 'ACTIVE' && !p.email && !p.mobile)).toBeGreaterThan(0.01);
    expect(share((p) => p.digitalPost !== null)).toBeGreaterThan(0.3);
    expect(channels.filter((c) => !isChannelUsable(c, now)).length / channels.length).toBeGreaterThan(0.1);
    expect([...addresses.values()].filter((n) => n > 1).length).toBeGreaterThan(20);
    expect(new Set(active.map((p) => p.language))).toEqual(new Set(['nb', 'nn', 'en', 'se', null]));
    // Every mobile is stored in E.164.
    for (const p of active) if (p.mobile) expect(p.mobile.address).toMatch(/^\+47[49]\d{7}$/);
  });

  it('writes everyone with their own change number and reports progress', () => {
    const store = openSqliteDatabase(':memory:');
    const progress: number[] = [];
    seedPopulation(store.sqlite, { count: 4500, seed: 1, now }, (done) => progress.push(done));
    expect(countPeople(store.db)).toBe(4500);
    expect(progress).toEqual([2000, 4000, 4500]);
    const { n, max } = store.sqlite.prepare('select count(*) n, max(change_number) max from change_log').get() as { n: number; max: number };
    expect([n, max]).toEqual([4500, 4500]);
    store.close();
  });
});
