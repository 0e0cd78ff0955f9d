import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { authenticate } from './auth/authenticate';
import type { TokenVerifier } from './auth/tokens';
import { maskIdentityNumbersIn } from './domain/identity-number';
import { ErrorCode } from './errors';
import type { Context } from './graphql/context';
import { GRAPHIQL_ASSET_PATH, graphiqlAssets, graphiqlPage, type GraphiqlPageOptions } from './http/graphiql';
import { createLoaders } from './loaders';
import type { Logger } from './logger';
import type { Store } from './store/database';
import type { Notifier } from './notify/notifier';
import { SelfService } from './services/self-service';
import { AuditStore } from './store/audit.store';
import { CitizenStore } from './store/citizen.store';
import { PersonStore } from './store/person.store';

export interface ServerDeps {
  schema: GraphQLSchema;
  store: Store;
  verifier: TokenVerifier;
  logger: Logger;
  graphiql: GraphiqlPageOptions | null;
  notifier: Notifier;
  codeTtlSeconds: number;
  /** Request bodies larger than this are refused with 413. */
  maxBodyBytes?: number;
}

export interface RegisterServer {
  app: Express;
  httpServer: http.Server;
  apollo: ApolloServer<Context>;
  /** Builds the context for one request; exported for tests that execute operations directly. */
  createContext(authorization: string | undefined): Promise<Context>;
}

/**
 * Errors a client can act on pass through (identity numbers masked). Anything else is a
 * fault of ours: the client gets a generic message and an id to quote; the log gets the rest.
 */
function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // A resolver that meant to refuse threw a GraphQLError with its own code; Apollo gives
    // everything else (a plain Error, a bug) INTERNAL_SERVER_ERROR.
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      return { ...formatted, message: maskIdentityNumbersIn(formatted.message) };
    }
    const errorId = randomUUID();
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
    logger.error({ errorId, err: original, path: formatted.path }, 'unexpected error');
    return {
      message: `Internal server error (error id ${errorId})`,
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, errorId },
    };
  };
}

/**
 * Writes the request's agency lookups to the audit log in one statement, before the
 * response leaves. If that write fails the data is withheld: no lookup goes unrecorded.
 */
function lookupAuditPlugin(audit: AuditStore, logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const { viewer, lookups, now } = contextValue;
          if (viewer.kind !== 'agency' || lookups.personIds.size === 0) return;
          try {
            audit.recordLookups(viewer.orgNumber, [...lookups.personIds], [...lookups.scopes], now);
          } catch (error) {
            const errorId = randomUUID();
            logger.error({ errorId, err: error }, 'could not write the lookup audit log; answer withheld');
            if (response.body.kind === 'single') {
              response.body.singleResult = {
                errors: [{ message: `Internal server error (error id ${errorId})`, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, errorId } }],
              };
            }
            response.http.status = 500;
          }
        },
      };
    },
  };
}

export async function createServer(deps: ServerDeps): Promise<RegisterServer> {
  const { schema, store, verifier, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  const httpServer = http.createServer(app);
  const people = new PersonStore(store.db);
  const audit = new AuditStore(store);
  const selfService = new SelfService(new CitizenStore(store.db), deps.notifier, logger, deps.codeTtlSeconds);

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT: it closes the database after Apollo stops and exits 0.
    // Apollo's own handler would re-raise the signal and end the process with 143.
    stopOnTerminationSignals: false,
    formatError: formatError(logger),
    logger: {
      debug: (m) => logger.debug(m),
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    },
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginDrainHttpServer({ httpServer }), lookupAuditPlugin(audit, logger)],
  });
  await apollo.start();

  async function createContext(authorization: string | undefined): Promise<Context> {
    const viewer = await authenticate(authorization, verifier);
    return {
      viewer,
      loaders: createLoaders(people),
      now: new Date(),
      selfService,
      audit,
      lookups: { personIds: new Set(), scopes: new Set() },
    };
  }

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    try {
      store.sqlite.prepare('select 1').get();
      res.json({ status: 'ready' });
    } catch (error) {
      logger.error({ err: error }, 'readiness check failed');
      res.status(503).json({ status: 'unavailable' });
    }
  });

  if (deps.graphiql) {
    const page = graphiqlPage(deps.graphiql);
    app.use(GRAPHIQL_ASSET_PATH, graphiqlAssets());
    app.get('/graphql', (req, res, next) => {
      if (req.accepts(['application/graphql-response+json', 'application/json', 'text/html']) !== 'text/html') return next();
      res.type('html').set('cache-control', 'no-cache').send(page);
    });
  }

  app.use(
    '/graphql',
    express.json({ limit: deps.maxBodyBytes ?? 1_000_000 }),
    expressMiddleware(apollo, { context: ({ req }) => createContext(req.headers.authorization) }),
  );

  return { app, httpServer, apollo, createContext };
}
