import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Scope } from '../../src/auth/scopes';
import { printRegisterSubgraph } from '../../src/graphql/subgraph';
import { LetterRecipientEmailsDocument, LetterRecipientsDocument, LetterRecipientStatusesDocument, LetterRecipientsWithMailboxDocument } from '../generated/federation';
import { startLettersSubgraph, type RunningSubgraph } from '../support/letters-subgraph';
import { aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

/**
 * The register as one source in an agency's federated graph: composed with the agency's own
 * "letters" subgraph and run through @apollo/gateway in-process, the way docs/federation.md shows.
 * The caller's token is forwarded to the register only, whose rules hold exactly as without the gateway.
 */
let register: TestRegister;
let letters: RunningSubgraph;
let gatewayServer: ApolloServer<{ authorization?: string }>;
let registerUrl: string;
const people = syntheticIds(1000, 515);

beforeAll(async () => {
  register = await createTestRegister();
  await register.put(aPerson(people[0], { email: { address: 'first@example.org', updatedAt: new Date(), lastVerifiedAt: null, lastValidatedAt: null } }), ...people.slice(1, 10).map((id) => aPerson(id)));
  registerUrl = `${await register.listen()}/graphql`;
  letters = await startLettersSubgraph(people);
  const gateway = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({
      subgraphs: [
        { name: 'register', url: registerUrl },
        { name: 'letters', url: letters.url },
      ],
    }),
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource<{ authorization?: string }>({
        url,
        willSendRequest({ request, context }) {
          if (name === 'register' && context.authorization) request.http?.headers.set('authorization', context.authorization);
        },
      }),
  });
  gatewayServer = new ApolloServer({ gateway });
  await gatewayServer.start();
}, 60_000);

afterAll(async () => {
  await gatewayServer?.stop();
  await letters?.stop();
  await register?.close();
});

async function viaGateway(query: TypedDocumentNode<unknown, Record<string, never>>, token?: string) {
  const res = await gatewayServer.executeOperation({ query }, { contextValue: { authorization: token ? `Bearer ${token}` : undefined } });
  if (res.body.kind !== 'single') throw new Error('expected a single result');
  return res.body.singleResult as { data?: any; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] };
}

describe('the register in a federated graph', () => {
  it('answers _service { sdl } with the committed subgraph SDL', async () => {
    const res = await fetch(registerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Raw on purpose: `_service` is the gateway's own entry point, in no schema the typed documents know.
      body: JSON.stringify({ query: '{ _service { sdl } }' }),
    });
    const sdl: string = (await res.json()).data._service.sdl;
    expect(printRegisterSubgraph().endsWith(`${sdl.trim()}\n`)).toBe(true);
    expect(sdl).toContain('type Person\n  @key(fields: "id")');
  });

  it('joins letters with their recipients across both sources, the token forwarded to the register', async () => {
    const token = await register.agencyToken();
    const { data, errors } = await viaGateway(LetterRecipientsDocument, token);
    expect(errors).toBeUndefined();
    expect(data.letters).toHaveLength(1000);
    expect(data.letters[0]).toEqual({ title: 'Decision 1', recipient: { id: people[0], status: 'ACTIVE', contactInfo: { email: { address: 'first@example.org' } } } });
    expect(data.letters[999].recipient).toMatchObject({ id: people[999], status: 'NOT_REGISTERED', contactInfo: null });
    expect(letters.authorizations.every((a) => a === undefined)).toBe(true);
  });

  it('resolves 1000 entities with the same constant number of SQL statements as persons', async () => {
    const token = await register.agencyToken();
    const before = register.store.statements.count;
    await viaGateway(LetterRecipientsWithMailboxDocument, token);
    // One read of the read model, and the audit append.
    expect(register.store.statements.count - before).toBe(2);
  });

  it('keeps the scope rules: without the contact scope contact fields are FORBIDDEN, the rest answers', async () => {
    const { data, errors } = await viaGateway(LetterRecipientsDocument, await register.agencyToken([Scope.DIGITAL_POST]));
    expect(errors?.length).toBeGreaterThan(0);
    expect(errors!.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
    expect(data.letters[0]).toEqual({ title: 'Decision 1', recipient: { id: people[0], status: 'ACTIVE', contactInfo: null } });
  });

  it('keeps the ownership rules: a citizen token cannot resolve other people through the gateway', async () => {
    const { data, errors } = await viaGateway(LetterRecipientsDocument, await register.citizenToken(people[5]));
    expect(errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(data)).not.toContain('first@example.org');
    expect(JSON.stringify(data ?? {})).not.toContain('ACTIVE');
  });

  it('without a token the register part is UNAUTHENTICATED', async () => {
    const { errors } = await viaGateway(LetterRecipientStatusesDocument);
    expect(errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('records the lookups made through the gateway in the audit log: every recipient, with the scopes released', async () => {
    // An agency of its own, so the rows are this test's whatever ran before.
    const org = '974760673';
    const { errors } = await viaGateway(LetterRecipientEmailsDocument, await register.agencyToken(undefined, org));
    expect(errors).toBeUndefined();
    const rows = await register.database.query<{ i: number; p: string; s: string }>('select id i, person_id p, scopes s from lookup_audit where agency_org_number = ? order by person_id', org);
    expect(new Set(rows.map((r) => r.i)).size).toBe(1);
    expect(rows.map((r) => r.p)).toEqual([...people].sort());
    expect(new Set(rows.map((r) => r.s))).toEqual(new Set(['krr:global/kontaktinformasjon.read']));
  });
});
