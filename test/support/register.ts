import 'reflect-metadata';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ALL_SCOPES } from '../../src/auth/scopes';
import { createTokenVerifier, mintDevToken } from '../../src/auth/tokens';
import { loadConfig, type Config } from '../../src/config';
import { buildSubgraphRegisterSchema } from '../../src/graphql/subgraph';
import { graphiqlDefaults } from '../../src/http/graphiql-defaults';
import { createLogger } from '../../src/logger';
import { OutboxFileNotifier } from '../../src/notify/notifier';
import { createServer, type RegisterServer, type ServerDeps } from '../../src/server';
import { openRegisterStore } from '../../src/store/open';
import type { PersonRecord, RegisterStore } from '../../src/store/types';
import { createTestDatabase, type TestDatabase } from './database';

// Built once per test file; a register with introspection off gets its own (see `openSdl`).
const openSchema = buildSubgraphRegisterSchema();

export interface TestRegister {
  config: Config;
  store: RegisterStore;
  /** The register's database, for tests that look at or tamper with the tables directly. */
  database: TestDatabase;
  server: RegisterServer;
  agencyToken(scopes?: readonly string[], orgNumber?: string): Promise<string>;
  /** `scopes`: the token's user scopes (krr:user/...); none: the self-service login. */
  citizenToken(pid: string, scopes?: readonly string[]): Promise<string>;
  /** Runs an operation through Apollo Server with the context a real request would get. */
  execute<TData, TVars extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVars>,
    variables: TVars,
    token?: string,
  ): Promise<{ data?: TData | null; errors?: readonly { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[] }>;
  /** Writes whole entries (replacing), one transaction, each with the next change number. */
  put(...people: PersonRecord[]): Promise<number[]>;
  /** Listens on a free loopback port; returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A register on a fresh temporary database of the store under test (SQLite, or a scratch
 * PostgreSQL database on the `postgres` project) with development tokens, as `npm start`
 * builds it.
 */
/** Code limits tests that are not about them run with: no wait, caps far above what a test sends. */
export const GENEROUS_CODE_LIMITS = {
  KRR_CODE_RESEND_SECONDS: '0',
  KRR_CODES_PER_ADDRESS_PER_HOUR: '100000',
  KRR_CODES_PER_ADDRESS_PER_DAY: '100000',
  KRR_FAILED_CODES_PER_DAY: '100000',
};

/** `deps`: what the server is built with instead of its own (the benchmark's naive loaders). */
export async function createTestRegister(env: Record<string, string> = {}, deps: Pick<ServerDeps, 'createLoaders'> = {}): Promise<TestRegister> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-test-'));
  // No rate limit, no code resend wait and generous caps on codes unless a test asks for
  // them: tests send many requests from one agency and set addresses several times in a row.
  const database = await createTestDatabase(dir);
  const config = loadConfig({ NODE_ENV: 'test', KRR_DATA_DIR: dir, KRR_RATE_LIMIT_PER_MINUTE: '0', ...GENEROUS_CODE_LIMITS, ...database.env, ...env });
  const store = await openRegisterStore(config);
  const verifier = await createTokenVerifier(config.auth);
  if (config.auth.mode !== 'development' || !verifier.devKey) throw new Error('test register needs development auth');
  const auth = config.auth;
  const devKey = verifier.devKey;
  const server = await createServer({
    config,
    schema: config.introspection ? openSchema : buildSubgraphRegisterSchema(undefined, { openSdl: false }),
    store,
    verifier,
    logger: createLogger('silent'),
    graphiql: graphiqlDefaults(config, []),
    notifier: new OutboxFileNotifier(config.outboxFile),
    ...deps,
  });
  let listening = false;

  return {
    config,
    store,
    database,
    server,
    agencyToken: (scopes = ALL_SCOPES, orgNumber = '991825827') => mintDevToken(auth, devKey, { agency: { orgNumber, scopes } }),
    citizenToken: (pid, scopes) => mintDevToken(auth, devKey, { citizen: { pid, scopes } }),
    async execute(document, variables, token) {
      const contextValue = await server.createContext(token ? `Bearer ${token}` : undefined);
      const response = await server.apollo.executeOperation({ query: document, variables }, { contextValue });
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      return response.body.singleResult as never;
    },
    put: (...people) => store.replacePeople(people, 'IMPORT', new Date()),
    async listen() {
      await new Promise<void>((resolve) => server.httpServer.listen(0, '127.0.0.1', resolve));
      listening = true;
      return `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}`;
    },
    async close() {
      if (listening) await server.apollo.stop();
      await store.close();
      await database.close();
    },
  };
}
