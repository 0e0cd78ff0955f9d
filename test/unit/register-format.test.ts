import { checkDigitsFor } from '../../src/domain/identity-number';
import {
  LANGUAGE,
  NOTIFICATION_STATUS,
  PERSON_FIELDS,
  REGISTER_PERSON_SELECTION,
  formatRegisterPerson,
  STATUS,
  YES_NO,
  parseRegisterPerson,
  registerTimestamp,
  type RegisterPersonResult,
} from '../../src/register/register-format';
import type { PersonRecord } from '../../src/store/types';

const ID = '01859012325'; // synthetic: 1 May 1990, month + 80
const NOW = new Date('2026-06-15T12:00:00.000Z');

function record(result: RegisterPersonResult): PersonRecord {
  if (!result.ok || !('record' in result)) throw new Error(`expected a record, got ${JSON.stringify(result)}`);
  return result.record;
}

function reason(result: RegisterPersonResult): string {
  if (result.ok) throw new Error(`expected a problem, got ${JSON.stringify(result)}`);
  return result.reason;
}

const active = (extra: Record<string, unknown> = {}) => ({ personidentifikator: ID, status: 'AKTIV', reservasjon: 'NEI', ...extra });

describe('registerTimestamp', () => {
  it.each([
    ['2023-06-29T10:14:52+02', '2023-06-29T08:14:52.000Z'],
    ['2023-06-29T10:14:52+0200', '2023-06-29T08:14:52.000Z'],
    ['2023-06-29T10:14:52+02:00', '2023-06-29T08:14:52.000Z'],
    ['2023-08-05T10:45:15.768Z', '2023-08-05T10:45:15.768Z'],
    ['2023-08-05T10:45:15.5Z', '2023-08-05T10:45:15.500Z'],
    ['2023-08-05T10:45:15.123456789Z', '2023-08-05T10:45:15.123Z'],
    ['2023-01-01T00:30:00-05:30', '2023-01-01T06:00:00.000Z'],
    ['2024-02-29T23:59:59+01:00', '2024-02-29T22:59:59.000Z'],
    ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'],
    ['0099-12-31T23:59:59.999Z', '0099-12-31T23:59:59.999Z'],
    ['0100-01-01T00:00:00.000Z', '0100-01-01T00:00:00.000Z'],
    ['2000-02-29T00:00:00.000Z', '2000-02-29T00:00:00.000Z'],
    ['2024-12-31T23:59:59.999Z', '2024-12-31T23:59:59.999Z'],
    ['2025-01-01T00:59:59.999+01:00', '2024-12-31T23:59:59.999Z'],
    ['2025-03-01T00:30:00.000+01:00', '2025-02-28T23:30:00.000Z'],
    ['2025-06-01T12:00:00.12Z', '2025-06-01T12:00:00.120Z'],
  ])('reads %s as the instant %s', (text, instant) => {
    const result = registerTimestamp(text);
    expect(result).toEqual({ ok: true, value: new Date(instant) });
  });

  it.each([
    ['2023-06-29', /date without a time/],
    ['2023-06-29T10:14:52', /no UTC offset/],
    ['2023-06-29T10:14:52.123', /no UTC offset/],
    ['2023-02-30T10:00:00+01:00', /not a real date/],
    ['2023-02-29T10:00:00Z', /not a real date/],
    ['2023-13-01T10:00:00Z', /not a real date/],
    ['2023-06-29T24:00:00Z', /not a real date/],
    ['2023-06-29T10:60:00Z', /not a real date/],
    ['2023-06-29T10:14:52.1234567890Z', /not a timestamp/],
    ['2023-06-29T10:14:52+2', /not a timestamp/],
    ['2023-06-29T10:14:52+25:00', /impossible UTC offset/],
    ['2023-06-29 10:14:52Z', /not a timestamp/],
    ['2023-06-29t10:14:52z', /not a timestamp/],
    ['', /not a timestamp/],
    ['2023-02-29T10:00:00.000Z', /not a real date/],
    ['2100-02-29T10:00:00.000Z', /not a real date/],
    ['2023-04-31T10:00:00.000Z', /not a real date/],
    ['2023-06-29T24:00:00.000Z', /not a real date/],
    ['2023-06-29T10:14:60.000Z', /not a real date/],
    ['2023-00-10T10:14:52.000Z', /not a real date/],
    ['2023-06-29T10:14:52.00xZ', /not a timestamp/],
    ['+02023-06-29T10:14:52.0Z', /not a timestamp/],
    ['2025-02-29T00:00:00.000Z', /not a real date/],
    ['2025-02-29T00:00:00Z', /not a real date/],
    ['2025-02-29T00:00:00.000+01:00', /not a real date/],
    ['1900-02-29T00:00:00.000Z', /not a real date/],
    ['2025-06-31T00:00:00.000Z', /not a real date/],
    ['2025-06-00T00:00:00.000Z', /not a real date/],
    ['2025-06-01T12:00:00.000+19:00', /impossible UTC offset/],
    ['2025-06-01T12:00:00.000+01:60', /impossible UTC offset/],
    ['2025-06-01T12:00:00.000', /no UTC offset/],
    ['2025-06-01T12:00:00.000 Z', /not a timestamp/],
    ['2025-06-01T12:00:00,000Z', /not a timestamp/],
    ['2025-06-01T12:00:00.000Z ', /not a timestamp/],
    ['2025-06-01T12:00:0a.000Z', /not a timestamp/],
    ['2025-06-01T12:00:00.-01Z', /not a timestamp/],
    ['2025-0-01T12:00:00.0000Z', /not a timestamp/],
    ['202５-06-01T12:00:00.000Z', /not a timestamp/],
  ])('refuses %s', (text, expected) => {
    const result = registerTimestamp(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(expected);
  });

  it('reads the form toISOString writes, digit by digit, as the instant Date reads (leap days, every month end, years 0-9999)', () => {
    const instants = [Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2000, 1, 29), Date.UTC(1600, 11, 31, 12), new Date('0001-01-01T00:00:00.000Z').getTime(), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    for (let month = 0; month < 12; month++) instants.push(Date.UTC(2023, month + 1, 0, 1, 2, 3, 4));
    const random = (n: number) => Math.floor(Math.random() * n);
    for (let i = 0; i < 2000; i++) instants.push(Date.UTC(100 + random(9900), random(12), 1 + random(31), random(24), random(60), random(60), random(1000)));
    for (const ms of instants) {
      const text = new Date(ms).toISOString();
      expect({ text, result: registerTimestamp(text) }).toEqual({ text, result: { ok: true, value: new Date(text) } });
    }
  });
});

describe('code lists map both ways', () => {
  it.each([
    [STATUS, 'AKTIV', 'ACTIVE'],
    [STATUS, 'SLETTET', 'DELETED'],
    [STATUS, 'IKKE_REGISTRERT', 'NOT_REGISTERED'],
    [YES_NO, 'JA', true],
    [YES_NO, 'NEI', false],
    [NOTIFICATION_STATUS, 'KAN_VARSLES', 'CAN_BE_NOTIFIED'],
    [NOTIFICATION_STATUS, 'KAN_IKKE_VARSLES', 'CANNOT_BE_NOTIFIED'],
    [LANGUAGE, 'se', 'se'],
  ])('%#: %s <-> %s', (codec, register, internal) => {
    expect(codec.parse(register)).toEqual({ ok: true, value: internal });
    expect(codec.format(internal as never)).toBe(register);
  });

  it('names the allowed codes when a value is not one of them', () => {
    expect(STATUS.parse('ACTIVE')).toEqual({ ok: false, reason: 'must be one of AKTIV, SLETTET, IKKE_REGISTRERT, got "ACTIVE"' });
  });

  it('names each register field once', () => {
    const names = PERSON_FIELDS.map((f) => f.register);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('parseRegisterPerson', () => {
  it('reads an active person with both channels, a mailbox and mixed timestamp formats', () => {
    const result = parseRegisterPerson(
      active({
        varslingsstatus: 'KAN_VARSLES',
        kontaktinformasjon: {
          epostadresse: 'Ola.Nordmann@example.com',
          epostadresse_oppdatert: '2023-06-29T10:14:52+02',
          epostadresse_sist_verifisert: '2025-11-03T08:00:00+0100',
          epostadresse_sist_validert: '2023-06-29T10:15:40.123+02:00',
          epostadresse_duplisert: 'NEI',
          mobiltelefonnummer: '41514965',
          mobiltelefonnummer_oppdatert: '2024-02-10T12:30:00+0100',
          mobiltelefonnummer_duplisert: 'JA',
        },
        digital_post: { postkasseadresse: 'ola.nordmann#9YDT', postkasseleverandoeradresse: '984661185' },
        sertifikat: 'MIIBc3ludGg+/w==',
        spraak: 'nb',
        spraak_oppdatert: '2022-01-05T14:00:00+01:00',
      }),
      1,
      NOW,
    );
    expect(record(result)).toEqual({
      id: ID,
      status: 'ACTIVE',
      reserved: false,
      reservedAt: null,
      reservationUpdatedAt: null,
      language: 'nb',
      languageUpdatedAt: new Date('2022-01-05T13:00:00Z'),
      // The latest timestamp anywhere in the record.
      updatedAt: new Date('2025-11-03T07:00:00Z'),
      email: {
        address: 'Ola.Nordmann@example.com',
        updatedAt: new Date('2023-06-29T08:14:52Z'),
        lastVerifiedAt: new Date('2025-11-03T07:00:00Z'),
        lastValidatedAt: new Date('2023-06-29T08:15:40.123Z'),
      },
      mobile: { address: '+4741514965', updatedAt: new Date('2024-02-10T11:30:00Z'), lastVerifiedAt: null, lastValidatedAt: null },
      digitalPost: { mailboxAddress: 'ola.nordmann#9YDT', providerOrgNumber: '984661185', certificate: 'MIIBc3ludGg+/w==' },
    });
  });

  it('normalises every accepted mobile form to E.164', () => {
    for (const mobile of ['+4799999999', '99999999', '0047 99 99 99 99']) {
      const result = parseRegisterPerson(
        active({ kontaktinformasjon: { mobiltelefonnummer: mobile, mobiltelefonnummer_oppdatert: '2024-01-01T00:00:00Z' } }),
        1,
        NOW,
      );
      expect(record(result).mobile?.address).toBe('+4799999999');
    }
  });

  it('reads a reservation with its timestamps', () => {
    const r = record(
      parseRegisterPerson(active({ reservasjon: 'JA', reservasjonstidspunkt: '2023-06-13T13:42:34+02', reservasjon_oppdatert: '2023-06-13T13:42:34+02' }), 1, NOW),
    );
    expect(r).toMatchObject({ reserved: true, reservedAt: new Date('2023-06-13T11:42:34Z'), reservationUpdatedAt: new Date('2023-06-13T11:42:34Z') });
  });

  it('takes the latest timestamp wherever it stands, and now when there is none', () => {
    const at = (extra: Record<string, unknown>) => record(parseRegisterPerson(active(extra), 1, NOW)).updatedAt;
    expect(at({ reservasjonstidspunkt: '2025-01-01T00:00:00Z', spraak: 'nb', spraak_oppdatert: '2024-01-01T00:00:00Z' })).toEqual(new Date('2025-01-01T00:00:00Z'));
    expect(at({ reservasjonstidspunkt: '2024-01-01T00:00:00Z', spraak: 'nb', spraak_oppdatert: '2025-01-01T00:00:00Z' })).toEqual(new Date('2025-01-01T00:00:00Z'));
    // The same instant in two forms: the first of them is taken, as it stands.
    const tie = record(parseRegisterPerson(active({ reservasjonstidspunkt: '2025-01-01T01:00:00+01:00', reservasjon_oppdatert: '2025-01-01T00:00:00.000Z' }), 1, NOW));
    expect(tie.updatedAt).toEqual(new Date('2025-01-01T00:00:00Z'));
    expect(tie.updatedAt).toBe(tie.reservedAt);
    expect(at({})).toBe(NOW);
  });

  it('skips a person who is not registered', () => {
    expect(parseRegisterPerson({ personidentifikator: ID, status: 'IKKE_REGISTRERT' }, 4, NOW)).toEqual({ ok: true, position: 4, skip: 'NOT_REGISTERED', id: ID });
  });

  it('keeps a deleted person but drops contact information, mailbox and certificate', () => {
    const r = record(
      parseRegisterPerson(
        {
          personidentifikator: ID,
          status: 'SLETTET',
          kontaktinformasjon: { epostadresse: 'ola@example.com', epostadresse_oppdatert: '2023-06-29T10:14:52Z' },
          digital_post: { postkasseadresse: 'ola#1', postkasseleverandoeradresse: '984661185' },
          sertifikat: 'MIIB',
        },
        1,
        NOW,
      ),
    );
    expect(r).toMatchObject({ status: 'DELETED', reserved: false, email: null, mobile: null, digitalPost: null });
  });

  it('uses the import time when the record has no timestamp at all', () => {
    expect(record(parseRegisterPerson(active(), 1, NOW)).updatedAt).toEqual(NOW);
  });

  it('treats null as absent', () => {
    const r = record(
      parseRegisterPerson(
        active({
          reservasjonstidspunkt: null,
          kontaktinformasjon: { epostadresse: 'a@example.com', epostadresse_oppdatert: '2024-01-01T00:00:00Z', epostadresse_sist_verifisert: null, mobiltelefonnummer: null },
          digital_post: null,
          spraak: null,
        }),
        1,
        NOW,
      ),
    );
    expect(r).toMatchObject({ reservedAt: null, language: null, digitalPost: null, mobile: null, email: { lastVerifiedAt: null } });
  });

  it('reads empty strings where the register has nothing as absent', () => {
    const r = record(
      parseRegisterPerson(
        active({
          reservasjonstidspunkt: '',
          kontaktinformasjon: { epostadresse: '', epostadresse_oppdatert: '', mobiltelefonnummer: '41514965', mobiltelefonnummer_oppdatert: '2024-01-01T00:00:00Z', mobiltelefonnummer_sist_verifisert: '' },
          digital_post: { postkasseadresse: '', postkasseleverandoeradresse: '' },
          sertifikat: '',
          spraak: '',
        }),
        1,
        NOW,
      ),
    );
    expect(r).toMatchObject({ reservedAt: null, email: null, mobile: { address: '+4741514965', lastVerifiedAt: null }, digitalPost: null, language: null });
    expect(record(parseRegisterPerson(active({ kontaktinformasjon: {}, digital_post: '' }), 1, NOW))).toMatchObject({ email: null, mobile: null, digitalPost: null });
    expect(record(parseRegisterPerson(active({ kontaktinformasjon: '' }), 1, NOW))).toMatchObject({ email: null, mobile: null });
  });

  it.each([
    [active({ sertifikat: ' ' }), 'sertifikat: is not a base64 certificate; sertifikat: is given without digital_post.postkasseadresse'],
    [active({ digital_post: { postkasseadresse: 'ola#1', postkasseleverandoeradresse: '984661185' }, sertifikat: 'not base64!' }), 'sertifikat: is not a base64 certificate'],
    [active({ digital_post: { postkasseadresse: ' ', postkasseleverandoeradresse: '984661185' } }), 'digital_post.postkasseadresse: is empty'],
    [active({ personidentifikator: '' }), 'personidentifikator: is required'],
  ])('still refuses a malformed value that is not empty, or a required one left empty: %#', (input, expected) => {
    expect(reason(parseRegisterPerson(input, 1, NOW))).toBe(expected);
  });

  describe('sertifikat', () => {
    const withMailbox = (sertifikat: string) =>
      parseRegisterPerson(active({ digital_post: { postkasseadresse: 'ola#1', postkasseleverandoeradresse: '984661185' }, sertifikat }), 1, NOW);

    it.each([
      ['MIIB', 'MIIB'],
      ['MIIBc3ludGg+/w==', 'MIIBc3ludGg+/w=='],
      ['MIIBc3ludGg+/ww=', 'MIIBc3ludGg+/ww='],
      ['MIIB\r\nc3lu\nZGg+/w==\n', 'MIIBc3luZGg+/w=='],
      [' MI IB\t', 'MIIB'],
      ['MIIBc3ludGg+/w= =', 'MIIBc3ludGg+/w=='],
      ['MIIB\u00a0c3lu\u2028ZGg+\u3000/w==\ufeff', 'MIIBc3luZGg+/w=='],
    ])('reads %j as %j, white space dropped', (text, compact) => {
      expect(record(withMailbox(text)).digitalPost?.certificate).toBe(compact);
    });

    it.each(['MII', 'MIIBc', 'MIIBc3ludGg+/w=', 'MIIBc3ludGg+/===', 'MIIBc3ludGg+/w==A', '=MIIB', '====', 'MI=B', 'MIIB-_==', 'MIIB\u0085', 'MIIB\u00c5', 'MIIB\u0000', ' \n\t'])(
      'refuses %j',
      (text) => {
        expect(reason(withMailbox(text))).toBe('sertifikat: is not a base64 certificate');
      },
    );
  });

  it('ignores the computed fields varslingsstatus and _duplisert, whatever they say', () => {
    const result = parseRegisterPerson(active({ varslingsstatus: 'rubbish', kontaktinformasjon: { epostadresse_duplisert: 'maybe' } }), 1, NOW);
    expect(result.ok).toBe(true);
  });

  it.each([
    [{ ...active(), reservert: 'JA' }, 'reservert: is not a field of a register person'],
    [active({ kontaktinformasjon: { epostadresse_oppdatret: '2024-01-01T00:00:00Z' } }), 'kontaktinformasjon.epostadresse_oppdatret: is not a field of a register person'],
    [active({ kontaktinformasjon: 'ola@example.com' }), 'kontaktinformasjon: must be an object, got "ola@example.com"'],
    [active({ kontaktinformasjon: { epostadresse: 'ola@', epostadresse_oppdatert: '2024-01-01T00:00:00Z' } }), 'kontaktinformasjon.epostadresse: is not a valid email address'],
    [
      active({ kontaktinformasjon: { mobiltelefonnummer: '22225555', mobiltelefonnummer_oppdatert: '2024-01-01T00:00:00Z' } }),
      'kontaktinformasjon.mobiltelefonnummer: is not a Norwegian mobile number (it must start with 4 or 9)',
    ],
    [
      active({ kontaktinformasjon: { mobiltelefonnummer: 41514965, mobiltelefonnummer_oppdatert: '2024-01-01T00:00:00Z' } }),
      'kontaktinformasjon.mobiltelefonnummer: must be a string, got 41514965',
    ],
    [active({ kontaktinformasjon: { epostadresse: 'ola@example.com' } }), 'kontaktinformasjon.epostadresse_oppdatert: is required when kontaktinformasjon.epostadresse is given'],
    [active({ digital_post: { postkasseadresse: 'ola#1' } }), 'digital_post.postkasseleverandoeradresse: is required when digital_post.postkasseadresse is given'],
    [active({ digital_post: { postkasseadresse: 'ola#1', postkasseleverandoeradresse: '98466118' } }), 'digital_post.postkasseleverandoeradresse: is not a 9-digit organisation number'],
    [active({ sertifikat: 'MIIB' }), 'sertifikat: is given without digital_post.postkasseadresse'],
    [active({ spraak: 'sv' }), 'spraak: must be one of nb, nn, en, se, got "sv"'],
    [active({ spraak: 'nb', spraak_oppdatert: '2024-01-01' }), 'spraak_oppdatert: is a date without a time of day (expected e.g. 2023-06-29T10:14:52+02:00)'],
    [active({ reservasjon: true }), 'reservasjon: must be one of JA, NEI, got true'],
    [{ personidentifikator: ID }, 'status: is required'],
    [{ status: 'AKTIV' }, 'personidentifikator: is required'],
    [[active()], 'is not a JSON object, got [{"personidentifikator":"018590*****","s...'],
  ])('refuses a bad field and names it: %#', (input, expected) => {
    expect(reason(parseRegisterPerson(input, 3, NOW))).toBe(expected);
  });

  it('reports every problem of a record, not just the first', () => {
    const r = reason(parseRegisterPerson({ personidentifikator: ID, status: 'AKTIVE', spraak: 'de', reservert: 'JA' }, 1, NOW));
    expect(r.split('; ')).toEqual([
      'reservert: is not a field of a register person',
      'status: must be one of AKTIV, SLETTET, IKKE_REGISTRERT, got "AKTIVE"',
      'spraak: must be one of nb, nn, en, se, got "de"',
    ]);
  });

  it('never shows an identity number whole in a reason', () => {
    const wrongCheck = `${ID.slice(0, 9)}${ID[9] === '9' ? '0' : '9'}${ID[10]}`;
    const anotherValid = `019080123${checkDigitsFor('019080123') ?? ''}`;
    const problems = [
      reason(parseRegisterPerson({ personidentifikator: wrongCheck, status: 'AKTIV' }, 1, NOW)),
      reason(parseRegisterPerson({ personidentifikator: ID, status: anotherValid }, 1, NOW)),
      reason(parseRegisterPerson({ personidentifikator: ID, status: 'AKTIV', [anotherValid]: 1 }, 1, NOW)),
      reason(parseRegisterPerson(active({ kontaktinformasjon: { mobiltelefonnummer: anotherValid, mobiltelefonnummer_oppdatert: '2024-01-01T00:00:00Z' } }), 1, NOW)),
    ];
    expect(problems[0]).toBe('personidentifikator: "018590*****" is not a valid identity number (11 digits with matching check digits)');
    for (const problem of problems) expect(problem).not.toMatch(/\d{11}/);
  });
});

describe('formatRegisterPerson', () => {
  it('writes a GraphQL Person in the register\u2019s names and codes, leaving out null and missing values', () => {
    const person = {
      id: ID,
      status: 'ACTIVE',
      reservation: { reserved: true, reservedAt: '2023-06-13T11:42:34.000Z', updatedAt: null },
      notificationStatus: 'CANNOT_BE_NOTIFIED',
      contactInfo: { email: null, mobile: { number: '+4799999999', updatedAt: '2023-08-05T10:45:15.768Z', lastVerifiedAt: null, lastValidatedAt: null, duplicated: false } },
      digitalMailbox: null,
      language: 'NN',
    };
    expect(JSON.stringify(formatRegisterPerson(person))).toBe(
      JSON.stringify({
        personidentifikator: ID,
        reservasjon: 'JA',
        reservasjonstidspunkt: '2023-06-13T11:42:34.000Z',
        status: 'AKTIV',
        varslingsstatus: 'KAN_IKKE_VARSLES',
        kontaktinformasjon: { mobiltelefonnummer: '+4799999999', mobiltelefonnummer_oppdatert: '2023-08-05T10:45:15.768Z', mobiltelefonnummer_duplisert: 'NEI' },
        spraak: 'nn',
      }),
    );
  });

  it('asks GraphQL for exactly the fields of the table', () => {
    expect(REGISTER_PERSON_SELECTION).toBe(
      '{ id reservation { reserved reservedAt updatedAt } status notificationStatus contactInfo { email { address updatedAt lastVerifiedAt lastValidatedAt duplicated } mobile { number updatedAt lastVerifiedAt lastValidatedAt duplicated } } digitalMailbox { address providerOrgNumber } certificate language languageUpdatedAt }',
    );
  });
});
