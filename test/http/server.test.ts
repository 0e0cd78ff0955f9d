import { LookUpIdsDocument, LookUpStatusesAndEmailsDocument, PingDocument } from '../generated/graphql';
import { documentText, requestBody } from '../support/operations';
import { aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

let register: TestRegister;
let base: string;
const [known, unknown] = syntheticIds(2);

beforeAll(async () => {
  register = await createTestRegister();
  await register.put(aPerson(known));
  base = await register.listen();
});
afterAll(() => register.close());

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('HTTP', () => {
  it('answers /healthz and /readyz', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('answers a lookup over HTTP with a bearer token', async () => {
    const res = await post(
      requestBody(LookUpStatusesAndEmailsDocument, { ids: [known, unknown] }),
      { authorization: `Bearer ${await register.agencyToken()}` },
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.persons.map((p: { status: string }) => p.status)).toEqual(['ACTIVE', 'NOT_REGISTERED']);
  });

  it('refuses an invalid token with 401, WWW-Authenticate and UNAUTHENTICATED', async () => {
    const res = await post(requestBody(PingDocument), { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect((await res.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('lets anyone introspect the schema (GraphiQL needs it before a token is set)', async () => {
    // Raw on purpose: introspection, as GraphiQL sends it.
    const res = await post({ query: '{ __schema { queryType { name } } }' });
    expect((await res.json()).data.__schema.queryType.name).toBe('Query');
  });

  it('blocks a cross-site GET operation without a preflight header (CSRF prevention)', async () => {
    const res = await fetch(`${base}/graphql?query=${encodeURIComponent(documentText(PingDocument))}`);
    expect(res.status).toBe(400);
  });

  it('masks identity numbers that GraphQL itself echoes in errors', async () => {
    const res = await post(
      // Variables of the wrong type on purpose: GraphQL's own error echoes them.
      requestBody(LookUpIdsDocument, { ids: [unknown, { nested: known }] as never }),
      { authorization: `Bearer ${await register.agencyToken()}` },
    );
    const text = await res.text();
    expect(text).toContain('BAD_USER_INPUT');
    expect(text).toContain(`${known.slice(0, 6)}*****`);
    expect(text).not.toContain(known);
  });

  it('serves the GraphiQL page and its assets from the service itself', async () => {
    const page = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u.startsWith('data:'));
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset.startsWith('/')).toBe(true);
      expect((await fetch(`${base}${asset}`)).status).toBe(200);
    }
  });
});
