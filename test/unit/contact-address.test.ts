import { emailKey, normaliseEmail, normaliseMobile } from '../../src/domain/contact-address';

describe('mobile numbers', () => {
  it.each([
    ['99999999', '+4799999999'],
    ['41514965', '+4741514965'],
    ['+4799999999', '+4799999999'],
    ['004741514965', '+4741514965'],
    [' 415 14 965 ', '+4741514965'],
    ['+47 415-14-965', '+4741514965'],
  ])('normalises %j to E.164 %s', (input, expected) => {
    expect(normaliseMobile(input)).toEqual({ ok: true, value: expected });
  });

  it.each(['22225555', '9999999', '999999999', '+4699999999', '+47999999999', 'abc', ''])('refuses %j', (input) => {
    expect(normaliseMobile(input).ok).toBe(false);
  });
});

describe('email addresses', () => {
  it('accepts an ordinary address and keeps it as given', () => {
    expect(normaliseEmail(' Ola.Nordmann@Example.no ')).toEqual({ ok: true, value: 'Ola.Nordmann@Example.no' });
  });

  it.each(['ola', 'ola@', '@example.no', 'ola@@example.no', 'ola@example', 'ola..n@example.no', 'ola @example.no', `${'a'.repeat(65)}@example.no`])(
    'refuses %j',
    (input) => {
      expect(normaliseEmail(input).ok).toBe(false);
    },
  );

  it('refuses an address longer than 254 characters', () => {
    const long = `ola@${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(10)}.no`;
    expect(normaliseEmail(long)).toEqual({ ok: false, reason: 'is longer than 254 characters' });
  });

  it('compares addresses case-insensitively for the duplicate flag', () => {
    expect(emailKey('Ola@Example.NO')).toBe(emailKey('ola@example.no'));
  });
});
