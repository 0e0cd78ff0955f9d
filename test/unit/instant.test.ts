import { isoInstant } from '../../src/domain/instant';

describe('isoInstant', () => {
  const same = (ms: number) => expect(isoInstant(new Date(ms))).toBe(new Date(ms).toISOString());

  it('writes what toISOString writes, at the edges of days, months, leap years and centuries', () => {
    for (const iso of [
      '1970-01-01T00:00:00.000Z',
      '1999-12-31T23:59:59.999Z',
      '2000-02-29T12:00:00.001Z',
      '2000-03-01T00:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2025-03-01T00:00:00.010Z',
      '2100-02-28T00:00:00.100Z',
      '2100-03-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ]) {
      expect(isoInstant(new Date(iso))).toBe(iso);
    }
  });

  it('writes what toISOString writes for 100 000 random instants from 1970 to 9999', () => {
    let seed = 7;
    const next = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    const differing: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      const ms = Math.floor(next() * 253_402_300_799_999);
      if (isoInstant(new Date(ms)) !== new Date(ms).toISOString()) differing.push(ms);
    }
    expect(differing).toEqual([]);
  });

  it('leaves instants before 1970 and after 9999 to toISOString, and throws for an invalid date as it does', () => {
    same(-1);
    same(Date.UTC(1900, 0, 1));
    same(253_402_300_800_000);
    expect(() => isoInstant(new Date(Number.NaN))).toThrow(RangeError);
  });
});
