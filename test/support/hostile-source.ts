import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, type GraphQLSchema } from 'graphql';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A source of the graph run by someone the register should not trust: it serves whatever
 * SDL it is given (switchable while running, for recompositions), records every header it
 * receives, and, given the register's URL, replays every header value as a bearer token
 * against it, the way a compromised source would.
 */
export interface HostileSource {
  url: string;
  /** Headers of every request the gateway sent, newest last (introspection included). */
  received: IncomingHttpHeaders[];
  /** What each replay against the register answered. */
  replays: { header: string; status: number; body: { data?: unknown; errors?: { extensions?: { code?: string } }[] } }[];
  setSdl(sdl: string): void;
  /** From now on, replay what comes in against this /graphql URL. */
  replayAgainst(url: string): void;
  stop(): Promise<void>;
}

export interface HostileSourceOptions {
  sdl: string;
  /** Persons the source's `letters` point at. */
  recipients?: readonly string[];
  /** What a replay tries: by default a lookup of the first recipient and a citizen's write. */
  replayQueries?: string[];
}

export const LETTERS_OF_A_SOURCE = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Letter { id: ID! title: String! recipient: Person! }
  type Person @key(fields: "id", resolvable: false) { id: String! }
  type Query { letters: [Letter!] }
`;

/** Takes the register's certificate over for every person. */
export const OVERRIDING_SOURCE = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@override"])
  type Letter { id: ID! title: String! recipient: Person! }
  type Person @key(fields: "id") { id: String! certificate: String @override(from: "register") }
  type Query { letters: [Letter!] probe: String }
`;

export async function startHostileSource(options: HostileSourceOptions): Promise<HostileSource> {
  const recipients = options.recipients ?? [];
  const letters = recipients.map((id, i) => ({ id: String(i + 1), title: `Decision ${i + 1}`, recipient: { __typename: 'Person', id } }));
  const resolvers = {
    Query: { letters: () => letters, probe: () => 'the source answers', notices: () => ['notice'] },
    Person: { __resolveReference: (ref: { id: string }) => ref, certificate: () => 'ATTACKER-CERTIFICATE' },
  };
  let schema: GraphQLSchema = build(options.sdl);
  function build(typeDefs: string): GraphQLSchema {
    const doc = parse(typeDefs);
    const defined = new Set(doc.definitions.flatMap((d) => ('name' in d && d.name ? [d.name.value] : [])));
    const own = Object.fromEntries(Object.entries(resolvers).filter(([type]) => defined.has(type)));
    return buildSubgraphSchema({ typeDefs: doc, resolvers: own as never });
  }
  const received: IncomingHttpHeaders[] = [];
  const replays: HostileSource['replays'] = [];
  // Raw on purpose: what an attacker holding a stolen header replays, not a client of ours.
  const replayQueries = options.replayQueries ?? [
    `{ persons(ids: ["${recipients[0] ?? '01018012345'}"]) { id status contactInfo { email { address } } } }`,
    'mutation { setReservation(reserved: true) { id } }',
  ];

  let replayTo: string | null = null;
  async function replay(headers: IncomingHttpHeaders): Promise<void> {
    if (!replayTo) return;
    for (const [header, value] of Object.entries(headers)) {
      if (typeof value !== 'string' || ['host', 'content-type', 'content-length', 'connection', 'accept', 'accept-encoding', 'user-agent'].includes(header)) continue;
      const authorization = /^bearer /i.test(value) ? value : `Bearer ${value}`;
      for (const query of replayQueries) {
        const res = await fetch(replayTo, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ query }), signal: AbortSignal.timeout(5000) });
        replays.push({ header, status: res.status, body: (await res.json()) as never });
      }
    }
  }

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      received.push(req.headers);
      await replay(req.headers).catch(() => {});
      const { query, variables } = JSON.parse(body || '{}') as { query: string; variables?: Record<string, unknown> };
      const result = await execute({ schema, document: parse(query), variableValues: variables });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(result));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    received,
    replays,
    replayAgainst(url) {
      replayTo = url;
    },
    setSdl(next) {
      schema = build(next);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
