import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import type { GraphQLSchema } from 'graphql';
import http from 'node:http';
import { authenticate } from './auth/authenticate';
import { ANONYMOUS, type Viewer } from './auth/viewer';
import type { TokenVerifier } from './auth/tokens';
import { ErrorCode, refused } from './errors';
import type { Context } from './graphql/context';
import {
  asRequestRefusal,
  errorStatusPlugin,
  formatGraphQLError,
  graphqlInternalAnswer,
  httpRefusalOf,
  refusalOf,
  sendGraphQLRefusal,
  sendRestRefusal,
} from './http/client-errors';
import { corsMiddleware } from './http/cors';
import { jsonBody } from './http/json-body';
import { GRAPHIQL_ASSET_PATH, graphiqlAssets, graphiqlPage, type GraphiqlPageOptions } from './http/graphiql';
import { createLoaders, type LoaderFactory } from './loaders';
import type { Logger } from './logger';
import type { Config } from './config';
import { operationLimitsPlugin } from './graphql/limits';
import { knownOperationTypes, unreservedVariableNames } from './graphql/operation-types';
import { createRegisterGateway } from './gateway';
import { jitExecutor } from './graphql/jit-executor';
import { Metrics } from './http/metrics';
import { RequestRateLimiter } from './http/rate-limit';
import { methodNotAllowed, notFound } from './http/json-errors';
import { restRoutes } from './http/rest';
import { loadAnswerSigner } from './http/signing';
import { securityHeaders } from './http/security-headers';
import type { Notifier } from './notify/notifier';
import { readOnlyCopyPlugin, registerUpstreamMetrics, upstreamFreshness } from './follower/freshness';
import { LookupAudit } from './services/lookup-audit';
import { codeSettings, SelfService } from './services/self-service';
import { StatementCounter, type RegisterStore } from './store/types';

export interface ServerDeps {
  config: Config;
  schema: GraphQLSchema;
  store: RegisterStore;
  verifier: TokenVerifier;
  logger: Logger;
  /** What the GraphiQL page opens with; the page is served when `config.graphiql` is on. */
  graphiql: GraphiqlPageOptions;
  notifier: Notifier;
  /** Makes each request's loaders; `createLoaders` unless given (the benchmark injects its naive ones). */
  createLoaders?: LoaderFactory;
}

export interface RegisterServer {
  app: Express;
  httpServer: http.Server;
  apollo: ApolloServer<Context>;
  metrics: Metrics;
  /**
   * With KRR_METRICS_PORT: the server of `GET /metrics` alone, not yet listening (main.ts
   * listens on the configured port and address). Null when /metrics is off or on the API's port.
   */
  metricsServer: http.Server | null;
  /**
   * Builds the context for one request: verifies the token and counts the request against
   * the caller's rate limit. Used by every entry point (GraphQL, REST, tests).
   */
  createContext(authorization: string | undefined, clientIp?: string, requests?: number): Promise<Context>;
  /** /readyz answers 503 from now on: the first step of a graceful shutdown. */
  markUnready(): void;
}

/**
 * Writes what the request released to the audit log (LookupAudit decides what: per person,
 * the scopes of the fields answered for them), before the response leaves. If that write
 * fails the data is withheld: no lookup goes unrecorded.
 */
function lookupAuditPlugin(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          if (contextValue.viewer.kind !== 'agency') return;
          try {
            // Written in a shared transaction (group commit), one statement per set of scopes
            // (usually one); counted before the wait so the metrics plugin, running alongside, sees it.
            const { writes, committed } = contextValue.lookups.flush();
            contextValue.sqlStatements.count += writes;
            await committed;
          } catch (error) {
            const withheld = graphqlInternalAnswer(logger, error, 'could not write the lookup audit log; answer withheld');
            if (response.body.kind === 'single') response.body.singleResult = withheld.body;
            response.http.status = withheld.status;
          }
        },
      };
    },
  };
}

/**
 * Express's own error page is HTML with a stack trace in development. Every error that
 * reaches here (unreadable JSON, a body over the limit) gets a JSON answer with a code.
 */
function httpErrorHandler(logger: Logger): express.ErrorRequestHandler {
  return (error, _req, res, next) => {
    if (res.headersSent) return next(error);
    sendGraphQLRefusal(res, httpRefusalOf(logger, error, 'unexpected HTTP error'));
  };
}

/** The root fields of an operation: a bounded name for metrics, unlike client-chosen operation names. */
function operationLabel(operation: { selectionSet: { selections: readonly { kind: string; name?: { value: string } }[] } } | undefined | null): string {
  if (!operation) return 'invalid';
  const fields = operation.selectionSet.selections.flatMap((s) => (s.kind === 'Field' && s.name ? [s.name.value] : []));
  return [...new Set(fields)].sort().join('+').slice(0, 100) || 'fragments';
}

function metricsPlugin(metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operation, response, errors, contextValue }) {
          const label = operationLabel(operation);
          // Requests refused before the context existed have no counter.
          if (contextValue?.sqlStatements) metrics.statements.observe(contextValue.sqlStatements.count);
          const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const sent = body?.errors ?? errors ?? [];
          for (const e of sent) metrics.errors.inc({ code: String(e.extensions?.code ?? 'UNKNOWN') });
          const outcome = sent.length === 0 ? 'ok' : body?.data ? 'error' : 'refused';
          metrics.requests.inc({ operation: label, outcome });
          metrics.duration.observe({ operation: label }, Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
  };
}

export async function createServer(deps: ServerDeps): Promise<RegisterServer> {
  const { config, schema, store, verifier, logger } = deps;
  const { limits } = config;
  const app = express();
  app.disable('x-powered-by');
  // No ETag on the answers (`res.send`): each is one caller's, audited, and never asked for
  // conditionally, and hashing a 1000-person answer (about 1 MB) took about 1 ms of it.
  // Files (GraphiQL, the OpenAPI viewer) keep theirs: `sendFile` and `static` make their own.
  app.set('etag', false);
  // Behind a load balancer, req.ip (anonymous callers' rate limit) and req.secure (HSTS)
  // are the client's only if the proxy is trusted (KRR_TRUST_PROXY); else every anonymous
  // caller shares the balancer's address and one bucket.
  app.set('trust proxy', config.trustProxy);
  app.use(securityHeaders({ hstsMaxAgeSeconds: config.hstsMaxAgeSeconds }));
  const httpServer = http.createServer(app);
  const metrics = new Metrics();
  if (config.upstream) registerUpstreamMetrics(metrics.registry, store);
  const rateLimiter = new RequestRateLimiter(limits.ratePerMinute, (points, seconds) => store.rateLimiter(points, seconds), (kind) => metrics.rateLimited.inc({ kind }));
  let ready = true;

  const registerExecution = config.executor === 'jit' ? { gateway: jitExecutor(schema) } : { schema };
  const options = (plugins: ApolloServerPlugin<Context>[]) => ({
    introspection: config.introspection,
    // A GET query (urql's default) or a simple POST is let through only with a header a
    // browser cannot send cross-site without a CORS preflight. Authorization is such a header,
    // and every data field needs it; Apollo's own two stay for anonymous callers.
    csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    allowBatchedHttpRequests: limits.maxBatch > 1,
    parseOptions: { maxTokens: limits.maxTokens },
    // A subscription (the register has none) is a validation failure, not an executor's fault.
    validationRules: [knownOperationTypes, unreservedVariableNames],
    includeStacktraceInErrorResponses: false,
    // "Did you mean ...?" in validation errors spells the schema out field by field: not
    // when introspection is off (production), or it would be introspection by guessing.
    hideSchemaDetailsFromClientErrors: !config.introspection,
    // main.ts owns SIGTERM/SIGINT: it closes the database after Apollo stops and exits 0.
    // Apollo's own handler would re-raise the signal and end the process with 143.
    stopOnTerminationSignals: false,
    formatError: formatGraphQLError(logger),
    logger: {
      debug: (m: string) => logger.debug(m),
      info: (m: string) => logger.info(m),
      warn: (m: string) => logger.warn(m),
      error: (m: string) => logger.error(m),
    },
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // No per-field timing traces for gateways: they cost time on every field and would
      // tell a gateway operator more than the answer does.
      ApolloServerPluginInlineTraceDisabled(),
      // No cache hints are used; the plugin would hook every one of ~25 000 fields in a lookup.
      ApolloServerPluginCacheControlDisabled(),
      errorStatusPlugin(),
      operationLimitsPlugin(limits),
      lookupAuditPlugin(logger),
      metricsPlugin(metrics),
      ...(config.upstream ? [readOnlyCopyPlugin(config.upstream.url)] : []),
      ...plugins,
    ],
  });
  // Gateway mode: /graphql serves the composed graph of the register and the other sources,
  // the register executed in this process. The REST API is the register's own and runs on
  // the register's schema alone: no other source can reach its answers.
  const federation = config.gateway ? createRegisterGateway(schema, config.gateway, logger) : null;
  const registerOnly = federation ? new ApolloServer<Context>({ ...registerExecution, ...options([]) }) : null;
  const apollo = new ApolloServer<Context>({
    ...(federation ? { gateway: federation.gateway } : registerExecution),
    ...options([
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ serverWillStop: async () => void (await registerOnly?.stop()) }) },
    ]),
  });
  await apollo.start();
  await registerOnly?.start();
  const signer = await loadAnswerSigner(config.answerSigning);

  async function createContext(authorization: string | undefined, clientIp?: string, requests = 1): Promise<Context> {
    let viewer: Viewer;
    try {
      viewer = await authenticate(authorization, verifier);
    } catch (error) {
      // A refused token still counts, against the client's address: forging is not free.
      await rateLimiter.take(ANONYMOUS, clientIp, requests);
      throw error;
    }
    await rateLimiter.take(viewer, clientIp, requests);
    const sqlStatements = new StatementCounter();
    // Agencies' lookups may be served by a read replica; citizens read their own writes.
    const request = store.forRequest(sqlStatements, viewer.kind === 'agency' ? 'replica' : 'primary');
    const now = new Date();
    const agency = viewer.kind === 'agency' ? { agencyOrgNumber: viewer.orgNumber, supplierOrgNumber: viewer.supplierOrgNumber ?? null } : null;
    return {
      viewer,
      authorization,
      loaders: (deps.createLoaders ?? createLoaders)(request.people, { observeBatch: (loader, size) => metrics.batchSize.observe({ loader }, size) }),
      now,
      selfService: new SelfService(request.citizen, deps.notifier, logger, codeSettings(config)),
      sqlStatements,
      audit: request.lookups,
      lookups: new LookupAudit(
        agency ? ({ personIds, scopes }) => request.lookups.record({ ...agency, personIds, scopes, at: now }) : null,
        requests,
      ),
    };
  }

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    if (!ready) {
      res.status(503).json({ status: 'stopping' });
      return;
    }
    try {
      await store.ping();
      if (config.upstream) {
        // A copy is ready once it has caught up with its upstream, until it is too stale.
        const { ready, ...upstream } = await upstreamFreshness(store, config.upstream);
        if (!ready) return void res.status(503).json({ status: 'stale', upstream });
      }
      res.json({ status: 'ready' });
    } catch (error) {
      logger.error({ err: error }, 'readiness check failed');
      res.status(503).json({ status: 'unavailable' });
    }
  });

  const serveMetrics: express.RequestHandler = async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
  let metricsServer: http.Server | null = null;
  if (config.metrics.listen === 'api') app.get('/metrics', serveMetrics);
  if (config.metrics.listen === 'separate') {
    const metricsApp = express();
    metricsApp.disable('x-powered-by');
    metricsApp.use(securityHeaders({ hstsMaxAgeSeconds: 0 }));
    metricsApp.get('/metrics', serveMetrics);
    metricsServer = http.createServer(metricsApp);
  }

  // Before every /graphql and /rest route (GraphiQL's page included); health and metrics get none.
  app.use('/graphql', corsMiddleware(config.cors, { methods: ['GET', 'POST'], refuse: (res, error) => sendGraphQLRefusal(res, refusalOf(error)) }));
  app.use('/rest', corsMiddleware(config.cors, { methods: ['GET', 'POST', 'PATCH'], refuse: (res, error) => sendRestRefusal(res, refusalOf(error)) }));

  if (federation?.callerJwks) {
    const jwks = federation.callerJwks;
    // Sources given `krr-caller` tokens check them with this key set.
    app.get('/gateway/jwks.json', async (_req, res) => void res.set('cache-control', 'max-age=300').json(await jwks()));
  }

  if (config.graphiql) {
    const page = graphiqlPage(deps.graphiql);
    app.use(GRAPHIQL_ASSET_PATH, graphiqlAssets());
    app.get('/graphql', (req, res, next) => {
      if (req.accepts(['application/graphql-response+json', 'application/json', 'text/html']) !== 'text/html') return next();
      res.type('html').set('cache-control', 'no-cache').send(page);
    });
  }

  // Apollo answers other methods with a plain-text 405; answered here in the JSON shape.
  // (OPTIONS, a CORS preflight, is answered earlier when CORS is on.)
  app.use('/graphql', (req, res, next) => (['GET', 'HEAD', 'POST'].includes(req.method) ? next() : methodNotAllowed(['GET', 'POST'])(req, res)));
  app.use(
    '/graphql',
    jsonBody(limits.maxBodyBytes),
    (req, res, next) => {
      if (Array.isArray(req.body) && req.body.length > limits.maxBatch) {
        const message = `A batch may hold at most ${limits.maxBatch} operation${limits.maxBatch === 1 ? '' : 's'}`;
        return void sendGraphQLRefusal(res, refusalOf(refused(ErrorCode.BATCH_TOO_LARGE, message)));
      }
      next();
    },
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requests = Array.isArray(req.body) ? req.body.length : 1;
        const context = Object.assign(await createContext(req.headers.authorization, req.ip, requests).catch((error: unknown) => Promise.reject(asRequestRefusal(error))), {
          clientHeaders: req.headers,
        });
        // A batch refused as a whole after some operations started: they wait for no others.
        res.once('close', () => context.lookups.abandon());
        return context;
      },
    }),
  );
  app.use('/rest', restRoutes({ apollo: registerOnly ?? apollo, createContext, logger, signer, maxBodyBytes: limits.maxBodyBytes }));
  // Public: agencies verify the answers they kept with these, long after they got them.
  app
    .route('/.well-known/jwks.json')
    .get((_req, res) => void res.set('cache-control', 'public, max-age=300').json(signer.jwks))
    .all(methodNotAllowed(['GET']));
  app.use(notFound);
  app.use(httpErrorHandler(logger));

  return { app, httpServer, apollo, metrics, metricsServer, createContext, markUnready: () => void (ready = false) };
}
