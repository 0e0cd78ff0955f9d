import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LookUpPeopleDocument, MyLookupSourcesDocument, SetLanguageDocument } from '../generated/graphql';
import { Scope, UserScope } from '../../src/auth/scopes';
import { normaliseMobile } from '../../src/domain/contact-address';
import { projectRoot } from '../../src/paths';
import { importPeople, registerText } from '../../src/register/import';
import { registerTimestamp } from '../../src/register/register-format';
import { aChannel, aPerson, MONTHS_AGO, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

type Json = Record<string, unknown>;

const FIXTURES = path.join(projectRoot, 'test/fixtures/register');
const fixture = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as { personer?: Json[]; list?: Json[] };
const personer = fixture('personer.json').personer!;
const endringer = fixture('endringer.json').list!;

let register: TestRegister;
let base: string;
let firstChange: number;

async function importText(text: string) {
  const result = await importPeople(register.store, registerText(text), new Date());
  if (!result.ok) throw new Error(`import refused: ${JSON.stringify(result.problems)}`);
  return result;
}

beforeAll(async () => {
  register = await createTestRegister();
  base = await register.listen();
  // endringer.json first: personer.json then replaces the one person both files hold.
  firstChange = (await importText(readFileSync(path.join(FIXTURES, 'endringer.json'), 'utf8'))).changeNumbers!.first;
  await importText(readFileSync(path.join(FIXTURES, 'personer.json'), 'utf8'));
});
afterAll(() => register.close());

const post = (endpoint: string, body: unknown, token?: string, headers: Record<string, string> = {}, version = 'v2') =>
  fetch(`${base}/rest/${version}/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** Every id answered, people not in the register too. */
async function personerOf(ids: readonly string[], token: string): Promise<Json[]> {
  const res = await post('personer', { personidentifikatorer: ids, inkluderIkkeRegistrerte: true }, token);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { personer: Json[] };
  expect(Object.keys(body)).toEqual(['personer']);
  return body.personer;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const COMPUTED = /^varslingsstatus$|_duplisert$/;
const TIMESTAMP_KEY = /(_oppdatert|_sist_verifisert|_sist_validert|tidspunkt)$/;

/** Drops what the service works out itself (checked on their own below), keeping every other byte. */
function storedFields(person: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(person)) if (!COMPUTED.test(key)) out[key] = isObject(value) ? storedFields(value) : value;
  return out;
}

/**
 * A record of the register's file as the service stores and serves it: nulls left out (as
 * the register's absent values), timestamps as the same instant in UTC, mobiles in E.164.
 */
function asServed(person: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(person)) {
    if (value === null) continue;
    if (isObject(value)) {
      const inner = asServed(value);
      if (Object.keys(inner).length > 0) out[key] = inner;
    } else if (TIMESTAMP_KEY.test(key)) {
      const parsed = registerTimestamp(String(value));
      if (!parsed.ok) throw new Error(parsed.reason);
      out[key] = parsed.value.toISOString();
    } else if (key === 'mobiltelefonnummer') {
      const parsed = normaliseMobile(String(value));
      if (!parsed.ok) throw new Error(parsed.reason);
      out[key] = parsed.value;
    } else out[key] = value;
  }
  return out;
}

describe('POST /rest/v2/personer', () => {
  it('gives back an imported register file field for field, in the register\u2019s names, values and key order', async () => {
    const ids = personer.map((p) => p.personidentifikator as string);
    const served = await personerOf(ids, await register.agencyToken());
    expect(served.map((p) => p.personidentifikator)).toEqual(ids);
    const expected = personer.map((p) => storedFields(asServed(p)));
    for (const [i, person] of served.entries()) expect(JSON.stringify(storedFields(person))).toBe(JSON.stringify(expected[i]));
  });

  it('gives a record already in the served form back byte for byte, computed fields included', async () => {
    const [id, sharer] = syntheticIds(2, 808);
    const recent = (months: number) => MONTHS_AGO(months, new Date()).toISOString();
    const record = {
      personidentifikator: id,
      reservasjon: 'NEI',
      reservasjon_oppdatert: recent(30),
      status: 'AKTIV',
      varslingsstatus: 'KAN_VARSLES',
      kontaktinformasjon: {
        epostadresse: 'Per.Hansen@example.org',
        epostadresse_oppdatert: recent(40),
        epostadresse_sist_verifisert: recent(2),
        epostadresse_sist_validert: recent(40),
        epostadresse_duplisert: 'NEI',
        mobiltelefonnummer: '+4741234567',
        mobiltelefonnummer_oppdatert: recent(1),
        mobiltelefonnummer_duplisert: 'JA',
      },
      digital_post: { postkasseadresse: 'per.hansen#1A2B', postkasseleverandoeradresse: '984661185' },
      sertifikat: 'MIIBc3ludGg+/w==',
      spraak: 'nn',
      spraak_oppdatert: recent(3),
    };
    const text = JSON.stringify({ personer: [record] });
    await importText(text);
    await register.put(aPerson(sharer, { mobile: aChannel('+4741234567') }));
    const res = await post('personer', { personidentifikatorer: [id] }, await register.agencyToken());
    expect(await res.text()).toBe(text);
  });

  it('works out varslingsstatus and _duplisert as GraphQL does, not as the file said', async () => {
    const token = await register.agencyToken();
    const ids = personer.map((p) => p.personidentifikator as string);
    const served = await personerOf(ids, token);
    const { data } = await register.execute(LookUpPeopleDocument, { ids }, token);
    const code = { CAN_BE_NOTIFIED: 'KAN_VARSLES', CANNOT_BE_NOTIFIED: 'KAN_IKKE_VARSLES' } as const;
    expect(served.map((p) => p.varslingsstatus)).toEqual(data!.persons.map((p) => code[p.notificationStatus!]));
    // Reserved, deleted and unregistered people can never be notified, whatever the date.
    expect(served.slice(1, 4).map((p) => p.varslingsstatus)).toEqual(['KAN_IKKE_VARSLES', 'KAN_IKKE_VARSLES', 'KAN_IKKE_VARSLES']);
    // The file says the mobile is shared, but nobody else in this register has it.
    expect(served[0].kontaktinformasjon).toMatchObject({ epostadresse_duplisert: 'NEI', mobiltelefonnummer_duplisert: 'NEI' });
    await register.put(aPerson(syntheticIds(1, 809)[0], { mobile: aChannel('+4741514965') }));
    const [after] = await personerOf([ids[0]], token);
    expect(after.kontaktinformasjon).toMatchObject({ epostadresse_duplisert: 'NEI', mobiltelefonnummer_duplisert: 'JA' });
  });

  it('answers an unregistered person with status and varslingsstatus only, as the register does', async () => {
    const [served] = await personerOf(['03815521160'], await register.agencyToken());
    expect(JSON.stringify(served)).toBe(JSON.stringify(personer[3]));
  });

  it('leaves out the fields the token has no scope for, and adds no error list', async () => {
    const id = personer[0].personidentifikator as string;
    const keys = async (scopes: string[]) => {
      const [p] = await personerOf([id], await register.agencyToken(scopes));
      return Object.keys(p);
    };
    expect(await keys([])).toEqual(['personidentifikator', 'reservasjon', 'status']);
    expect(await keys([Scope.CONTACT_INFO])).toEqual(['personidentifikator', 'reservasjon', 'status', 'varslingsstatus', 'kontaktinformasjon', 'spraak', 'spraak_oppdatert']);
    expect(await keys([Scope.DIGITAL_POST])).toEqual(['personidentifikator', 'reservasjon', 'status', 'digital_post', 'sertifikat']);
  });

  it('takes 1 to 1000 ids, one answer per id in order, and refuses 1001 or none with 400', async () => {
    const token = await register.agencyToken();
    const many = syntheticIds(1001, 810);
    expect(await personerOf(many.slice(0, 1000), token)).toHaveLength(1000);
    for (const ids of [many, []]) {
      const res = await post('personer', { personidentifikatorer: ids }, token);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: { code: 'BAD_USER_INPUT', message: expect.any(String) } });
    }
    const tooMany = await post('personer', { personidentifikatorer: many }, token);
    expect((await tooMany.json()).error.message).toMatch(/at most 1000/);
  });

  it('refuses invalid identity numbers with 400, naming them masked with their positions', async () => {
    const good = personer[0].personidentifikator as string;
    const bad = good.slice(0, 10) + String((Number(good[10]) + 1) % 10);
    const res = await post('personer', { personidentifikatorer: [good, bad, 'abc'] }, await register.agencyToken());
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toContain(bad);
    const { error } = JSON.parse(text);
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain(`${bad.slice(0, 6)}***** (at 1)`);
    expect(error.message).toContain('abc (at 2)');
  });

  it.each([[{}], [{ personidentifikatorer: 'x' }], [{ personidentifikatorer: [1] }], [[]], ['{"personidentifikatorer": ['], ['"x"']])(
    'refuses the body %j with 400',
    async (body) => {
      const res = await post('personer', body, await register.agencyToken());
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toMatch(/^(BAD_USER_INPUT|BAD_REQUEST)$/);
    },
  );

  it('answers 401 with WWW-Authenticate without a token or with one that does not verify, and 403 to a citizen', async () => {
    const body = { personidentifikatorer: [personer[0].personidentifikator] };
    for (const token of [undefined, 'eyJhbGciOiJub25lIn0.e30.']) {
      const res = await post('personer', body, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect((await res.json()).error.code).toBe('UNAUTHENTICATED');
    }
    // The token is checked before the body is read.
    const badBodyBadToken = await post('personer', { personidentifikatorer: 'x' }, 'eyJhbGciOiJub25lIn0.e30.');
    expect(badBodyBadToken.status).toBe(401);
    const citizen = await post('personer', body, await register.citizenToken(personer[0].personidentifikator as string));
    expect(citizen.status).toBe(403);
    expect((await citizen.json()).error.code).toBe('FORBIDDEN');
  });

  it('records the lookups in the audit log with the agency and the scopes used', async () => {
    const org = '889640782';
    const ids = personer.slice(0, 2).map((p) => p.personidentifikator as string);
    await personerOf(ids, await register.agencyToken([Scope.CONTACT_INFO], org));
    const rows = await register.database.query('select person_id p, scopes s from lookup_audit where agency_org_number = ? order by id', org);
    expect(rows).toEqual(ids.map((p) => ({ p, s: Scope.CONTACT_INFO })));
  });

  it('withholds the answer with 500 when the lookups cannot be written to the audit log', async () => {
    await register.database.query('alter table lookup_request rename to lookup_request_away');
    try {
      const res = await post('personer', { personidentifikatorer: [personer[0].personidentifikator] }, await register.agencyToken());
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).not.toContain('ola.nordmann');
      expect(JSON.parse(text).error).toEqual({ code: 'INTERNAL_SERVER_ERROR', message: expect.stringMatching(/error id [0-9a-f-]{36}/) });
    } finally {
      await register.database.query('alter table lookup_request_away rename to lookup_request');
    }
  });
});

describe('POST /rest/v2/krr/hentEndringer', () => {
  const feed = async (body: unknown, scopes: string[] = [Scope.CHANGE_FEED, Scope.CONTACT_INFO, Scope.DIGITAL_POST], org?: string) =>
    post('krr/hentEndringer', body, await register.agencyToken(scopes, org));

  it('pages from fraEndringsId (inclusive) with tilEndringsId and sisteEndringsId, each person in its current state', async () => {
    const latest = await register.database.number('select max(change_number) n from change_log');
    const pages: { fraEndringsId: number; tilEndringsId: number; sisteEndringsId: number; list: Json[] }[] = [];
    let fra = firstChange;
    for (;;) {
      const res = await feed({ fraEndringsId: fra, antall: 2 });
      expect(res.status).toBe(200);
      const page = await res.json();
      expect(Object.keys(page)).toEqual(['fraEndringsId', 'tilEndringsId', 'sisteEndringsId', 'list']);
      pages.push(page);
      if (page.list.length === 0 || page.tilEndringsId >= page.sisteEndringsId) break;
      fra = page.tilEndringsId + 1;
    }
    expect(pages.every((p) => p.sisteEndringsId === latest && p.list.length <= 2)).toBe(true);
    expect(pages[0]).toMatchObject({ fraEndringsId: firstChange, tilEndringsId: firstChange + 1 });
    const seen = pages.flatMap((p) => p.list);
    // 01859012325 is in both files: listed once, at its later change, in its later state.
    const inOrder = [endringer[0], endringer[1], ...personer.filter((p) => p.status !== 'IKKE_REGISTRERT')].map((p) => p.personidentifikator);
    expect(seen.slice(0, inOrder.length).map((p) => p.personidentifikator)).toEqual(inOrder);
    for (const [i, record] of endringer.slice(0, 2).entries()) expect(JSON.stringify(storedFields(seen[i]))).toBe(JSON.stringify(storedFields(asServed(record))));
    const [current] = await personerOf(['01859012325'], await register.agencyToken());
    expect(seen.find((p) => p.personidentifikator === '01859012325')).toEqual(current);

    const end = await (await feed({ fraEndringsId: latest + 1 })).json();
    expect(end).toEqual({ fraEndringsId: latest + 1, tilEndringsId: latest, sisteEndringsId: latest, list: [] });
  });

  it('pages of 1000 unless antall says fewer', async () => {
    await register.put(...syntheticIds(1100, 811).map((id) => aPerson(id)));
    const page = await (await feed({ fraEndringsId: 1 })).json();
    expect(page.list).toHaveLength(1000);
  });

  it('answers 403 without krr:global/hentendring.read and 401 without a token', async () => {
    const res = await feed({ fraEndringsId: 1 }, [Scope.CONTACT_INFO, Scope.DIGITAL_POST]);
    expect(res.status).toBe(403);
    expect((await res.json()).error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining(Scope.CHANGE_FEED) });
    expect((await post('krr/hentEndringer', { fraEndringsId: 1 })).status).toBe(401);
  });

  it('with only the feed scope lists identifier, reservation and status', async () => {
    const page = await (await feed({ fraEndringsId: firstChange, antall: 1 }, [Scope.CHANGE_FEED])).json();
    expect(page.list).toEqual([{ personidentifikator: endringer[0].personidentifikator, reservasjon: 'NEI', status: 'AKTIV' }]);
  });

  it.each([[{}], [{ fraEndringsId: -1 }], [{ fraEndringsId: '5' }], [{ fraEndringsId: 1, antall: 0 }], [{ fraEndringsId: 1, antall: 1001 }], [{ fraEndringsId: 1, antall: 2.5 }]])(
    'refuses %j with 400',
    async (body) => {
      const res = await feed(body);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('BAD_USER_INPUT');
    },
  );

  it('records every listed person in the audit log, with the feed scope', async () => {
    const org = '991825827';
    const count = () => register.database.number("select count(*) n from lookup_audit where agency_org_number = ? and scopes like '%hentendring%'", org);
    const before = await count();
    await feed({ fraEndringsId: firstChange, antall: 3 }, [Scope.CHANGE_FEED], org);
    expect((await count()) - before).toBe(3);
  });
});

describe('POST /rest/v1/personer and inkluderIkkeRegistrerte (v2)', () => {
  const unknown = '03815521160';
  const known = () => personer[0].personidentifikator as string;
  const statuses = async (res: Response) => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { personer: Json[] }).personer.map((p) => [p.personidentifikator, p.status]);
  };

  it('v1 answers every id in order, people not in the register as IKKE_REGISTRERT, in the same shape as v2', async () => {
    const token = await register.agencyToken();
    const v1 = await post('personer', { personidentifikatorer: [unknown, known()] }, token, {}, 'v1');
    expect(await statuses(v1)).toEqual([[unknown, 'IKKE_REGISTRERT'], [known(), 'AKTIV']]);
    const [v1Person] = (await (await post('personer', { personidentifikatorer: [known()] }, token, {}, 'v1')).json()).personer;
    expect(v1Person).toEqual((await personerOf([known()], token))[0]);
  });

  it('v2 leaves people not in the register out unless inkluderIkkeRegistrerte is true', async () => {
    const token = await register.agencyToken();
    const ids = [unknown, known()];
    expect(await statuses(await post('personer', { personidentifikatorer: ids }, token))).toEqual([[known(), 'AKTIV']]);
    expect(await statuses(await post('personer', { personidentifikatorer: ids, inkluderIkkeRegistrerte: false }, token))).toEqual([[known(), 'AKTIV']]);
    expect(await statuses(await post('personer', { personidentifikatorer: ids, inkluderIkkeRegistrerte: true }, token))).toEqual([[unknown, 'IKKE_REGISTRERT'], [known(), 'AKTIV']]);
  });

  it.each([['true'], [1], [null], [{}]])('v2 refuses inkluderIkkeRegistrerte %j with a coded 400', async (flag) => {
    const res = await post('personer', { personidentifikatorer: [known()], inkluderIkkeRegistrerte: flag }, await register.agencyToken());
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('inkluderIkkeRegistrerte') } });
  });
});

describe('signed answers (Accept: application/jose)', () => {
  it('answers a compact JWS, verified with jose against /.well-known/jwks.json, whose payload is exactly the JSON answer', async () => {
    const { compactVerify, createLocalJWKSet, decodeProtectedHeader } = await import('jose');
    const token = await register.agencyToken();
    const jwksRes = await fetch(`${base}/.well-known/jwks.json`);
    expect(jwksRes.status).toBe(200);
    const jwks = await jwksRes.json();
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
    const keys = createLocalJWKSet(jwks);
    const asks: [string, string, unknown][] = [
      ['v1', 'personer', { personidentifikatorer: [personer[0].personidentifikator, '03815521160'] }],
      ['v2', 'personer', { personidentifikatorer: [personer[0].personidentifikator], inkluderIkkeRegistrerte: false }],
      ['v2', 'krr/hentEndringer', { fraEndringsId: firstChange, antall: 2 }],
    ];
    for (const [version, endpoint, body] of asks) {
      const plain = await post(endpoint, body, token, {}, version);
      const signed = await post(endpoint, body, token, { accept: 'application/jose' }, version);
      expect(signed.status).toBe(200);
      expect(signed.headers.get('content-type')).toMatch(/^application\/jose/);
      expect(signed.headers.get('vary')).toMatch(/Accept/i);
      const jws = await signed.text();
      expect(jws).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(decodeProtectedHeader(jws)).toMatchObject({ alg: expect.stringMatching(/^(ES256|RS256)$/), kid: jwks.keys[0].kid });
      const { payload } = await compactVerify(jws, keys);
      expect(new TextDecoder().decode(payload)).toBe(await plain.text());
    }
  });

  it('answers JSON to a client that prefers JSON or accepts anything, and refusals stay JSON', async () => {
    const token = await register.agencyToken();
    const body = { personidentifikatorer: [personer[0].personidentifikator] };
    for (const accept of ['application/json', '*/*', 'application/json, application/jose;q=0.5']) {
      const res = await post('personer', body, token, { accept });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
    const refused = await post('personer', { personidentifikatorer: 'x' }, token, { accept: 'application/jose' });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.code).toBe('BAD_USER_INPUT');
  });
});

describe('delegation (consumer and supplier)', () => {
  it('accepts a vendor acting for an agency; the audit log and the citizen\u2019s lookups name both', async () => {
    const id = personer[0].personidentifikator as string;
    const [agency, vendor] = ['974760673', '916108552'];
    const delegated = await mintDelegated(agency, vendor);
    const res = await post('personer', { personidentifikatorer: [id] }, delegated);
    expect(res.status).toBe(200);
    const rows = await register.database.query('select agency_org_number a, supplier_org_number s from lookup_audit where person_id = ? and agency_org_number = ?', id, agency);
    expect(rows).toEqual([{ a: agency, s: vendor }]);
    await post('personer', { personidentifikatorer: [id] }, await register.agencyToken([], agency));
    const { data } = await register.execute(MyLookupSourcesDocument, {}, await register.citizenToken(id));
    const nodes = data!.me!.lookups!.edges.map((e) => e.node).filter((n) => n.agencyOrgNumber === agency);
    expect(nodes.map((n) => n.supplierOrgNumber)).toEqual([null, vendor]);
  });

  it('refuses a supplier claim that is not an organisation number', async () => {
    const res = await post('personer', { personidentifikatorer: [personer[0].personidentifikator] }, await mintDelegated('974760673', '12345'));
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toMatch(/supplier/);
  });
});


async function mintDelegated(agency: string, vendor: string): Promise<string> {
  const { mintDevToken } = await import('../../src/auth/tokens');
  const { createTokenVerifier } = await import('../../src/auth/tokens');
  const auth = register.config.auth as Extract<typeof register.config.auth, { mode: 'development' }>;
  const { devKey } = await createTokenVerifier(auth);
  if (vendor.length !== 9) {
    const { SignJWT } = await import('jose');
    return new SignJWT({ scope: '', consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${agency}` }, supplier: { authority: 'iso6523-actorid-upis', ID: `0192:${vendor}` } })
      .setProtectedHeader({ alg: 'ES256', kid: devKey!.kid })
      .setIssuer(auth.agency.issuer)
      .setAudience(auth.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(devKey!.privateKey);
  }
  return mintDevToken(auth, devKey!, { agency: { orgNumber: agency, scopes: [Scope.CONTACT_INFO], supplierOrgNumber: vendor } });
}

describe('the citizen\u2019s own entry: GET and PATCH /rest/v1/person', () => {
  // A person of this block's own (the register file's first person under another id and
  // mobile, which one other person shares), so its writes touch nobody the other blocks read.
  const [own, sharer] = syntheticIds(2, 417);
  const id = () => own;
  beforeAll(async () => {
    const first = personer[0] as { kontaktinformasjon: Json };
    await importText(JSON.stringify({ personer: [{ ...first, personidentifikator: own, kontaktinformasjon: { ...first.kontaktinformasjon, mobiltelefonnummer: '+4741514977' } }] }));
    await register.put(aPerson(sharer, { mobile: aChannel('+4741514977') }));
  });
  const call = (method: string, token: string, body?: unknown) =>
    fetch(`${base}/rest/v1/person`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const scoped = (scopes: string[], pid = id()) => register.citizenToken(pid, scopes);

  it('answers the token\u2019s own person unwrapped, with what the user scopes allow', async () => {
    const keys = async (scopes: string[]) => {
      const res = await call('GET', await scoped(scopes));
      expect(res.status).toBe(200);
      const person = await res.json();
      expect(person.personidentifikator).toBe(id());
      return Object.keys(person);
    };
    expect(await keys([])).toEqual(['personidentifikator', 'reservasjon', 'status']);
    expect(await keys([UserScope.CONTACT_INFO])).toEqual(['personidentifikator', 'reservasjon', 'status', 'varslingsstatus', 'kontaktinformasjon', 'spraak', 'spraak_oppdatert']);
    expect(await keys([UserScope.DIGITAL_POST])).toEqual(['personidentifikator', 'reservasjon', 'status', 'digital_post', 'sertifikat']);
    const [asAgency] = (await personerOf([id()], await register.agencyToken())) as Array<Record<string, any>>;
    // On one's own entry `_duplisert` shows only for an address proven with a code (issue 14,
    // finding 4): this person's mobile is shared but not proven, so the citizen is not told.
    expect(asAgency.kontaktinformasjon.mobiltelefonnummer_duplisert).toBe('JA');
    expect(asAgency.kontaktinformasjon.mobiltelefonnummer_sist_validert).toBeUndefined();
    const { mobiltelefonnummer_duplisert: _shared, ...ownContact } = asAgency.kontaktinformasjon;
    expect(await (await call('GET', await scoped([UserScope.CONTACT_INFO, UserScope.DIGITAL_POST]))).json()).toEqual({ ...asAgency, kontaktinformasjon: ownContact });
  });

  it('changes the language with krr:user/spraak.write, and refuses without it or with a bad body', async () => {
    const without = await call('PATCH', await scoped([UserScope.CONTACT_INFO]), { spraak: 'en' });
    expect(without.status).toBe(403);
    expect((await without.json()).error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining(UserScope.LANGUAGE_WRITE) });
    const token = await scoped([UserScope.LANGUAGE_WRITE, UserScope.CONTACT_INFO]);
    const res = await call('PATCH', token, { spraak: 'en' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ personidentifikator: id(), spraak: 'en' });
    expect((await personerOf([id()], await register.agencyToken()))[0].spraak).toBe('en');
    for (const body of [{ spraak: 'de' }, { spraak: 'en', status: 'SLETTET' }, {}, '[]']) {
      const bad = await call('PATCH', token, body);
      expect(bad.status).toBe(400);
      expect((await bad.json()).error.code).toBe('BAD_USER_INPUT');
    }
  });

  it('is for citizens only: an agency token is 403, no token 401', async () => {
    expect((await call('GET', await register.agencyToken())).status).toBe(403);
    expect((await fetch(`${base}/rest/v1/person`)).status).toBe(401);
  });

  it('holds a scoped citizen token to its scopes on GraphQL too; a token without user scopes keeps full self-service', async () => {
    const limited = await register.execute(SetLanguageDocument, { language: 'EN' }, await scoped([UserScope.CONTACT_INFO]));
    expect(limited.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const full = await register.execute(SetLanguageDocument, { language: 'EN' }, await register.citizenToken(id()));
    expect(full.errors).toBeUndefined();
  });
});


describe('one JSON error shape for unknown paths and methods', () => {
  it.each([
    ['GET', '/rest/v2/personer', 405],
    ['DELETE', '/rest/v1/person', 405],
    ['GET', '/rest/v2/krr/hentEndringer', 405],
    ['POST', '/rest/v3/personer', 404],
    ['GET', '/no/such/page', 404],
    ['PUT', '/graphql', 405],
    ['DELETE', '/graphql', 405],
    ['POST', '/.well-known/jwks.json', 405],
  ])('%s %s answers JSON %i', async (method, path, status) => {
    const res = await fetch(`${base}${path}`, { method, headers: { accept: 'text/html' } });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toEqual({ error: { code: status === 404 ? 'NOT_FOUND' : 'METHOD_NOT_ALLOWED', message: expect.stringContaining(path) } });
    if (status === 405) expect(res.headers.get('allow')).toBeTruthy();
  });

  it('masks an identity number in the path it names', async () => {
    const id = personer[0].personidentifikator as string;
    const text = await (await fetch(`${base}/rest/v1/person/${id}`)).text();
    expect(text).not.toContain(id);
    expect(JSON.parse(text).error.message).toContain(`${id.slice(0, 6)}*****`);
  });
});
