import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { UserScope } from '../../src/auth/scopes';
import { PERSON_FIELDS } from '../../src/register/register-format';
import { aChannel, aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

type Json = Record<string, unknown>;
interface Operation {
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
}

let register: TestRegister;
let base: string;
let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Json> } };
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
addFormats(ajv);
const validators = new Map<Json, ValidateFunction>();
const [known, unknown, deleted] = syntheticIds(3, 830);
const checked = new Set<string>();

beforeAll(async () => {
  register = await createTestRegister();
  base = await register.listen();
  await register.put(
    aPerson(known, { email: aChannel('kari@example.org'), mobile: aChannel('+4791234567') }),
    aPerson(deleted, { status: 'DELETED' }),
  );
  const res = await fetch(`${base}/rest/openapi.json`);
  expect(res.status).toBe(200);
  // The document's $refs (#/components/schemas/X) pointed at one JSON Schema holding them all.
  const text = await res.text();
  doc = JSON.parse(text.replaceAll('"#/components/schemas/', '"openapi#/$defs/'));
  ajv.addSchema({ $id: 'openapi', $defs: doc.components.schemas });
  doc = { ...doc, components: JSON.parse(text).components };
});
afterAll(() => register.close());

function validatorOf(schema: Json): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(schema, validate);
  }
  return validate;
}

/** Sends a request and checks its status, content type and body against the document. */
async function conforms(method: string, path: string, init: { token?: string; body?: unknown; accept?: string } = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.accept ? { accept: init.accept } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  // A method the path does not have is answered by the path's documented 405.
  const operation = doc.paths[path]?.[method.toLowerCase()] ?? (res.status === 405 ? Object.values(doc.paths[path] ?? {})[0] : undefined);
  if (!operation) throw new Error(`${method} ${path} is not in the document`);
  const response = operation.responses[String(res.status)];
  if (!response) throw new Error(`${method} ${path} answered ${res.status}, which the document does not list`);
  const type = (res.headers.get('content-type') ?? '').split(';')[0];
  const media = response.content?.[type];
  if (!media) throw new Error(`${method} ${path} ${res.status} answered ${type}, which the document does not list`);
  const text = await res.text();
  let body: unknown = text;
  if (type === 'application/json') body = JSON.parse(text);
  const validate = validatorOf(media.schema);
  if (!validate(body)) throw new Error(`${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`);
  if (type === 'application/jose') {
    // The payload is the JSON answer, so it must fit the JSON schema too.
    const payload = JSON.parse(Buffer.from(text.split('.')[1], 'base64url').toString('utf8'));
    const json = validatorOf(response.content!['application/json'].schema);
    if (!json(payload)) throw new Error(`${method} ${path}: the signed payload: ${ajv.errorsText(json.errors)}`);
    body = payload;
  }
  checked.add(`${method} ${path} ${res.status} ${type}`);
  return { status: res.status, body };
}

describe('GET /rest/openapi.json', () => {
  it('is OpenAPI 3.1 and describes every field of a register person', () => {
    expect(doc).toMatchObject({ openapi: '3.1.0' });
    const person = doc.components.schemas.Person as { properties: Record<string, { properties?: Json }> };
    for (const { register: name } of PERSON_FIELDS) {
      const [top, inner] = name.split('.');
      expect(person.properties).toHaveProperty(top);
      if (inner) expect(person.properties[top].properties).toHaveProperty(inner);
    }
  });

  it('matches real answers of every endpoint, plain and signed, and their refusals', async () => {
    const agency = await register.agencyToken();
    const ids = [known, unknown, deleted];
    for (const accept of [undefined, 'application/jose']) {
      const v1 = await conforms('POST', '/rest/v1/personer', { token: agency, body: { personidentifikatorer: ids }, accept });
      expect((v1.body as { personer: unknown[] }).personer).toHaveLength(3);
      await conforms('POST', '/rest/v2/personer', { token: agency, body: { personidentifikatorer: ids, inkluderIkkeRegistrerte: true }, accept });
      const feed = await conforms('POST', '/rest/v2/krr/hentEndringer', { token: agency, body: { fraEndringsId: 1 }, accept });
      expect((feed.body as { list: unknown[] }).list.length).toBeGreaterThan(0);
    }
    expect((await conforms('POST', '/rest/v2/personer', { token: agency, body: { personidentifikatorer: 'x' } })).status).toBe(400);
    expect((await conforms('POST', '/rest/v1/personer', { body: { personidentifikatorer: ids } })).status).toBe(401);
    expect((await conforms('POST', '/rest/v2/krr/hentEndringer', { token: await register.agencyToken([]), body: { fraEndringsId: 1 } })).status).toBe(403);
    expect((await conforms('GET', '/rest/v2/personer')).status).toBe(405);

    const citizen = await register.citizenToken(known, [UserScope.CONTACT_INFO, UserScope.DIGITAL_POST, UserScope.LANGUAGE_WRITE]);
    const me = await conforms('GET', '/rest/v1/person', { token: citizen });
    expect(me.body).toMatchObject({ personidentifikator: known, kontaktinformasjon: { epostadresse: 'kari@example.org' } });
    expect((await conforms('PATCH', '/rest/v1/person', { token: citizen, body: { spraak: 'nn' } })).body).toMatchObject({ spraak: 'nn' });
    expect((await conforms('PATCH', '/rest/v1/person', { token: citizen, body: { spraak: 'xx' } })).status).toBe(400);
    expect((await conforms('GET', '/rest/v1/person', { token: agency })).status).toBe(403);

    const jwks = await conforms('GET', '/.well-known/jwks.json');
    expect((jwks.body as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    await conforms('GET', '/rest/openapi.json');
    // Every operation of the document was called at least once.
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path} `));
    for (const op of operations) expect([...checked].some((c) => c.startsWith(op))).toBe(true);
  });
});

describe('GET /rest/docs', () => {
  it('is a browsable page whose scripts and styles are served here, not from a CDN', async () => {
    const res = await fetch(`${base}/rest/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/rest\//);
      const file = await fetch(`${base}${asset}`);
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toMatch(/javascript|css/);
      expect((await file.text()).length).toBeGreaterThan(10);
    }
  });
});
