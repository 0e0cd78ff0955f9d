import { checkDigitsFor, isValidIdentityNumber, maskIdentityNumber, maskIdentityNumbersIn, parseIdentityNumber } from '../../src/domain/identity-number';
import { createRandom, syntheticIdentityNumber } from '../../db/seed/generate';

/** Builds a valid number from its first nine digits. */
const complete = (firstNine: string) => {
  const check = checkDigitsFor(firstNine);
  if (!check) throw new Error(`no valid number starts with ${firstNine}`);
  return firstNine + check;
};

describe('identity numbers', () => {
  it('accepts a number whose check digits follow the mod-11 rule', () => {
    // Worked by hand, on a synthetic number (month 01 + 80): 018190 124 ->
    // k1 = 11 - (0*3+1*7+8*6+1*1+9*8+0*9+1*4+2*5+4*2 = 150) mod 11 = 11 - 7 = 4;
    // k2 = 11 - (0*5+1*4+8*3+1*2+9*7+0*6+1*5+2*4+4*3+4*2 = 126) mod 11 = 11 - 5 = 6.
    expect(checkDigitsFor('018190124')).toBe('46');
    expect(isValidIdentityNumber('01819012446')).toBe(true);
    // 018190 121 gives k1 = 11 - (144 mod 11 = 1) = 10: no valid number starts with it.
    expect(checkDigitsFor('018190121')).toBeNull();
  });

  it('writes a first check digit of 0 as a digit, and gives null for anything but nine digits', () => {
    expect(checkDigitsFor('018190015')).toBe('09');
    expect(isValidIdentityNumber('01819001509')).toBe(true);
    expect(checkDigitsFor('018190002')).toBe('00');
    expect(checkDigitsFor('01819012')).toBeNull();
    expect(checkDigitsFor('0181901245')).toBeNull();
    expect(checkDigitsFor('01819012a')).toBeNull();
    expect(checkDigitsFor('01819012 ')).toBeNull();
  });

  it('rejects a number whose either check digit is off by any amount', () => {
    const valid = complete('018190124');
    for (let shift = 1; shift < 10; shift++) {
      const bump = (at: number) => valid.slice(0, at) + String((Number(valid[at]) + shift) % 10) + valid.slice(at + 1);
      expect(isValidIdentityNumber(bump(9))).toBe(false);
      expect(isValidIdentityNumber(bump(10))).toBe(false);
    }
  });

  it('rejects a number with a wrong check digit', () => {
    const valid = complete('010190124');
    const wrong = valid.slice(0, 10) + String((Number(valid[10]) + 1) % 10);
    expect(isValidIdentityNumber(wrong)).toBe(false);
  });

  it('treats a check digit computing to 10 as impossible and 11 as 0', () => {
    const random = createRandom(3);
    let sawTen = false;
    for (let i = 0; i < 2000 && !sawTen; i++) {
      const nine = String(Math.floor(random() * 1e9)).padStart(9, '0');
      if (checkDigitsFor(nine) === null) sawTen = true;
    }
    expect(sawTen).toBe(true);
    expect(checkDigitsFor('000000000')).toBe('00');
  });

  it('knows D-numbers (day + 40) and synthetic test numbers (month + 80)', () => {
    expect(parseIdentityNumber(complete('410190124'))).toMatchObject({ kind: 'D_NUMMER', synthetic: false, day: 1, month: 1 });
    expect(parseIdentityNumber(complete('018190123'))).toMatchObject({ kind: 'FODSELSNUMMER', synthetic: true, month: 1 });
    expect(parseIdentityNumber(complete('419290123'))).toMatchObject({ kind: 'D_NUMMER', synthetic: true, day: 1, month: 12 });
  });

  it('rejects days a month does not have, allowing 29 February (the century is not in the number)', () => {
    const firstValid = (prefix: string) => {
      for (let n = 0; n < 1000; n++) {
        const nine = prefix + String(n).padStart(3, '0');
        if (checkDigitsFor(nine)) return nine + checkDigitsFor(nine);
      }
      throw new Error(`no valid number for ${prefix}`);
    };
    expect(isValidIdentityNumber(firstValid('310290'))).toBe(false); // 31 February
    expect(isValidIdentityNumber(firstValid('318290'))).toBe(false); // synthetic 31 February
    expect(isValidIdentityNumber(firstValid('310490'))).toBe(false); // 31 April
    expect(isValidIdentityNumber(firstValid('290290'))).toBe(true); // 29 February
    expect(isValidIdentityNumber(firstValid('300490'))).toBe(true);
  });

  it('rejects impossible dates, wrong lengths and non-digits', () => {
    expect(isValidIdentityNumber(complete('320190123'))).toBe(false); // day 32
    expect(isValidIdentityNumber(complete('011390123'))).toBe(false); // month 13
    expect(isValidIdentityNumber(complete('019390123'))).toBe(false); // synthetic month 13
    expect(isValidIdentityNumber('0101901234')).toBe(false);
    expect(isValidIdentityNumber('010190123456')).toBe(false);
    expect(isValidIdentityNumber('0101901234a')).toBe(false);
    expect(isValidIdentityNumber('')).toBe(false);
  });

  it('generates only valid synthetic numbers', () => {
    const random = createRandom(11);
    for (let i = 0; i < 1000; i++) {
      const id = syntheticIdentityNumber(random);
      expect(parseIdentityNumber(id)).toMatchObject({ synthetic: true });
    }
  });

  it('masks all but the date part, in values and in free text', () => {
    expect(maskIdentityNumber('01819012345')).toBe('018190*****');
    expect(maskIdentityNumber('0181901234567890')).toBe('018190*****');
    expect(maskIdentityNumber('1234')).toBe('1234');
    expect(maskIdentityNumbersIn('ids 01819012345 and 41819012345, not 123456789012')).toBe(
      'ids 018190***** and 418190*****, not 123456789012',
    );
  });
});
