import 'reflect-metadata';
import cluster, { type Worker } from 'node:cluster';
import type http from 'node:http';
import { DEFAULT_SEED, progressPrinter } from '../db/seed/seed';
import { syntheticIdentityNumber, createRandom } from '../db/seed/generate';
import { loadOrCreateDevKey, type DevSigningKey } from './auth/keys';
import { createTokenVerifier, mintDevToken } from './auth/tokens';
import { ALL_SCOPES } from './auth/scopes';
import { maskIdentityNumber } from './domain/identity-number';
import { ConfigError, loadConfig, type Config } from './config';
import { buildSubgraphRegisterSchema } from './graphql/subgraph';
import { graphiqlDefaults, type DevTokens } from './http/graphiql-defaults';
import { createLogger, type Logger } from './logger';
import { OutboxFileNotifier } from './notify/notifier';
import { UpstreamFollower } from './follower/follower';
import { loadAnswerSigner, SigningKeyError } from './http/signing';
import { createServer, type ServerDeps } from './server';
import { openRegisterStore } from './store/open';
import { StatementCounter, type RegisterStore } from './store/types';

/** After the delay: longer than Apollo's own 10 s drain, so a forced drain still ends in a clean close. */
const SHUTDOWN_GRACE_MS = 15_000;
const DEV_ORG_NUMBER = '991825827';

/** Listens and says where: the port actually bound (PORT=0 picks one) and the URL of `path`. */
async function listen(httpServer: http.Server, port: number, host: string, path: string): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, resolve);
  });
  const address = httpServer.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { port: bound, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}${path}` };
}

/** `7200` -> `2 h`, `90` -> `90 s`: how long the printed token lives. */
function lifetime(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** A few valid synthetic ids that are not in the register, to show NOT_REGISTERED. */
async function unregisteredSamples(store: RegisterStore, n: number): Promise<string[]> {
  const random = createRandom(1);
  const candidates = [...new Set(Array.from({ length: n * 4 }, () => syntheticIdentityNumber(random)))];
  const registered = await store.registeredAmong(candidates);
  return candidates.filter((id) => !registered.has(id)).slice(0, n);
}

type DevAuth = Extract<Config['auth'], { mode: 'development' }>;

/**
 * The agency token (all scopes) and a citizen token for an active sample person (or, in an
 * empty register, one not registered yet): what GraphiQL opens with in development.
 */
async function mintDevTokens(auth: DevAuth, key: DevSigningKey, store: RegisterStore, samples: readonly string[]): Promise<DevTokens> {
  const agency = await mintDevToken(auth, key, { agency: { orgNumber: DEV_ORG_NUMBER, scopes: ALL_SCOPES } });
  const rows = await store.forRequest(new StatementCounter()).people.people(samples.slice(0, 100));
  const pid = rows.find((row) => row?.status === 'ACTIVE')?.id ?? (await unregisteredSamples(store, 1))[0];
  return { agency, citizen: pid ? { pid, token: await mintDevToken(auth, key, { citizen: { pid } }) } : undefined };
}

/** Opens the database, applies migrations and, when it is empty, seeds a synthetic population. */
async function prepareDatabase(config: Config, logger: Logger): Promise<RegisterStore> {
  const store = await openRegisterStore(config);
  logger.info({ store: store.kind, location: store.location }, 'database ready (migrations applied)');
  if (config.seedCount > 0) {
    // Always through seedIfEmpty: it checks under the seed lock, so a replica starting while
    // another seeds waits for the whole population instead of serving part of it.
    const empty = (await store.countPeople()) === 0;
    if (empty) logger.info({ count: config.seedCount }, 'empty database: seeding a synthetic population');
    const seeded = await store.seedIfEmpty({ count: config.seedCount, seed: DEFAULT_SEED, now: new Date() }, progressPrinter());
    if (empty && seeded === 0) logger.info('another process seeded the register meanwhile');
  }
  if (config.upstream) {
    const stored = await store.upstreamPosition();
    if (stored && stored.upstream !== config.upstream.url) {
      await store.close();
      throw new ConfigError([`KRR_UPSTREAM_URL is ${config.upstream.url}, but this database is a copy of ${stored.upstream}: positions in one register's feed mean nothing in another's`]);
    }
    logger.info({ upstream: config.upstream.url, position: stored?.position ?? config.upstream.startAfter }, 'follower mode: a read-only copy of the upstream register');
  }
  return store;
}

/** Follower mode: the process that follows (not a cluster worker: with KRR_WORKERS > 1 the primary does). */
function startFollower(config: Config, store: RegisterStore, logger: Logger): UpstreamFollower | null {
  if (!config.upstream) return null;
  const follower = new UpstreamFollower(store, config.upstream, logger);
  follower.start();
  return follower;
}

/** What an entry point other than this one may put in (bench/naive-main.ts: the benchmark's naive loaders). */
export type StartOptions = Pick<ServerDeps, 'createLoaders'>;

export async function start(config: Config, logger: Logger, options: StartOptions = {}) {
  const store = await prepareDatabase(config, logger);
  store.startAuditMaintenance(config.auditRetentionDays, (err) => logger.error({ err }, 'audit log maintenance failed; retried in a second'));

  const verifier = await createTokenVerifier(config.auth);
  const samples = await store.syntheticSampleIds(995);
  const sampleIds = samples.length > 0 ? [...samples, ...(await unregisteredSamples(store, 5))] : [];
  const devAuth = config.auth.mode === 'development' ? config.auth : null;
  const devTokens = devAuth && verifier.devKey ? await mintDevTokens(devAuth, verifier.devKey, store, samples) : undefined;
  const graphiql = graphiqlDefaults(config, sampleIds, devTokens);
  const server = await createServer({
    config,
    schema: buildSubgraphRegisterSchema(undefined, { openSdl: config.introspection }),
    store,
    verifier,
    logger,
    graphiql,
    notifier: new OutboxFileNotifier(config.outboxFile),
    ...options,
  });

  const { port, url } = await listen(server.httpServer, config.port, config.host, '/graphql');
  logger.info({ url, env: config.env, auth: config.auth.mode }, `serving ${url}`);
  const follower = cluster.isWorker ? null : startFollower(config, store, logger);
  const { metricsServer } = server;
  if (metricsServer && config.metrics.listen === 'separate') {
    const metrics = await listen(metricsServer, config.metrics.port, config.metrics.host, '/metrics');
    logger.info({ url: metrics.url }, `metrics on ${metrics.url}`);
  }

  // In a cluster the first worker speaks for all.
  if (devAuth && devTokens && (!cluster.isWorker || cluster.worker?.id === 1)) {
    const inPage = config.graphiql && graphiql.tokens.length > 0;
    // Printed plainly (not as JSON) so it can be copied straight from the terminal.
    process.stdout.write(
      `\nDevelopment mode: tokens are signed with the local key in ${devAuth.keyFile}.\n` +
        (inPage
          ? `Open ${url} and press run: GraphiQL's Headers tab already holds this agency token (all scopes, valid ${lifetime(devAuth.maxTokenLifetimeSeconds)})` +
            (devTokens.citizen ? `,\nand its second tab a citizen token for ${maskIdentityNumber(devTokens.citizen.pid)} to try the mutations` : '') +
            `. For other clients:\n\n`
          : `Open ${url} and put this agency token (all scopes, valid ${lifetime(devAuth.maxTokenLifetimeSeconds)}) in the Headers tab:\n\n`) +
        `{"Authorization": "Bearer ${devTokens.agency}"}\n\n` +
        `More tokens: npm run token -- agency --scope krr:global/kontaktinformasjon.read | npm run token -- citizen --pid <id>\n\n`,
    );
  }

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Unready first, so a load balancer stops sending; then stop listening and let the
      // requests in flight finish (Apollo's drain plugin); then close the database.
      server.markUnready();
      logger.info({ delayMs: config.shutdownDelayMs }, 'shutting down: unready, finishing requests in flight');
      if (config.shutdownDelayMs > 0) await new Promise((r) => setTimeout(r, config.shutdownDelayMs));
      await follower?.stop();
      await server.apollo.stop();
      if (metricsServer?.listening) {
        // A scraper's keep-alive connection would hold close() open.
        const closed = new Promise((resolve) => metricsServer.close(resolve));
        metricsServer.closeAllConnections();
        await closed;
      }
      await store.close();
      logger.info('stopped');
    })();
    return stopping;
  };
  return { url, port, stop, server, store, follower };
}

export async function main(options: StartOptions = {}): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  try {
    // Before the database is opened (and perhaps seeded): a key file that exists but cannot
    // sign is a configuration problem too. Say which, without a stack. (Makes the development
    // key, too, before any worker is forked.)
    await loadAnswerSigner(config.answerSigning);
  } catch (error) {
    if (error instanceof SigningKeyError) {
      process.stderr.write(`Invalid configuration:\n  - ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && cluster.isPrimary) {
    await runPrimary(config, logger);
    return;
  }
  const running = await start(config, logger, options);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      // The grace period starts when the delay ends: KRR_SHUTDOWN_DELAY_MS may be longer than it.
      const timer = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, config.shutdownDelayMs + SHUTDOWN_GRACE_MS);
      timer.unref();
      running.stop().then(
        () => process.exit(0),
        (error) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

/**
 * KRR_WORKERS > 1: this process prepares the database once, then forks the workers, which
 * share the listening port (node:cluster) and the SQLite file (WAL lets them read at once;
 * writes queue on SQLite's lock). A signal is passed on to every worker; the primary exits
 * when they all have, 0 if they all stopped cleanly. A worker that dies otherwise is replaced.
 */
async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const store = await prepareDatabase(config, logger);
  const follower = startFollower(config, store, logger);
  if (!follower) await store.close();
  // Made once here: workers racing to create it would each sign with a key of their own.
  if (config.auth.mode === 'development') await loadOrCreateDevKey(config.auth.keyFile);
  let stopping = false;
  const listening = new Set<number>();
  const fork = () => cluster.fork().once('listening', function (this: Worker) {
    listening.add(this.id);
  });
  for (let i = 0; i < config.workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    if (!listening.has(worker.id)) {
      // It never served: another would fail the same way (port taken, a file missing).
      logger.error({ worker: worker.id, code, signal }, 'a worker failed to start; stopping');
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      return;
    }
    logger.error({ worker: worker.id, code, signal }, 'worker died; starting another');
    fork();
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      const codes = workers.map((w) => new Promise<number | null>((resolve) => w.once('exit', (code) => resolve(code))));
      for (const w of workers) w.process.kill(signal);
      const followerStopped = follower ? follower.stop().then(() => store.close()) : Promise.resolve();
      void Promise.all([followerStopped, ...codes]).then(([, ...all]) => process.exit(all.every((c) => c === 0) ? 0 : 1));
    });
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`start-up failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
