import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

/**
 * The only reader of `process.env`. Reads and checks everything once at start-up and
 * fails with every problem listed, rather than at the first request.
 */

export interface IssuerConfig {
  issuer: string;
  /** `http(s)://` URL of a JWKS, or a path to a JWKS file. */
  jwksUri: string;
}

/** What both kinds of token configuration share. */
interface TokenRules {
  audience: string;
  /** The longest `exp - iat` accepted (KRR_MAX_TOKEN_LIFETIME_SECONDS); `iat` is required. */
  maxTokenLifetimeSeconds: number;
}

export type AuthConfig =
  | ({ mode: 'external'; agency: IssuerConfig; citizen: IssuerConfig } & TokenRules)
  | ({ mode: 'development'; agency: { issuer: string }; citizen: { issuer: string }; keyFile: string } & TokenRules);

export interface GatewayConfig {
  /** Other subgraphs, composed at start-up with the register (KRR_SUBGRAPHS). */
  subgraphs: { name: string; url: string }[];
  /** A supergraph composed beforehand (rover or @apollo/composition); its `register` subgraph runs in-process. */
  supergraphFile: string | null;
  /** How long a source may take to answer before it counts as down. */
  timeoutMs: number;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  dataDir: string;
  /** The SQLite file (the embedded default; unused when `databaseUrl` is set). */
  dbPath: string;
  /** `postgres://...` (KRR_DATABASE_URL): the register lives in PostgreSQL instead of SQLite. */
  databaseUrl: string | null;
  /** A PostgreSQL read replica for agency lookups (KRR_DATABASE_READ_URL); null: all reads on the primary. */
  databaseReadUrl: string | null;
  /** Connections in each process's PostgreSQL pool (KRR_DATABASE_POOL_SIZE). */
  databasePoolSize: number;
  /** How many synthetic people to create on a first start with an empty database (0: none). */
  seedCount: number;
  logLevel: string;
  auth: AuthConfig;
  /** Where the development notifier appends outgoing messages (JSON Lines). */
  outboxFile: string;
  /** How long a one-time code stays valid. */
  codeTtlSeconds: number;
  /** How long before another code may be sent to the same channel. */
  codeResendSeconds: number;
  limits: {
    maxDepth: number;
    maxAliases: number;
    maxCost: number;
    /** Lexical tokens in one document (graphql-js parser limit). */
    maxTokens: number;
    maxBodyBytes: number;
    /** Operations in one batched HTTP request; 1 turns batching off. */
    maxBatch: number;
    /** Requests per minute per agency (organisation number), citizen (pid) or anonymous IP; 0: off. */
    ratePerMinute: number;
  };
  introspection: boolean;
  graphiql: boolean;
  /**
   * Where `GET /metrics` is served: not at all (the default in production), on the API's own
   * port (the default otherwise), or on a port of its own on an internal address
   * (KRR_METRICS_PORT, KRR_METRICS_HOST), away from the API's clients.
   */
  metrics: { listen: 'off' } | { listen: 'api' } | { listen: 'separate'; port: number; host: string };
  /**
   * Express's `trust proxy` (KRR_TRUST_PROXY): which proxies' X-Forwarded-For / -Proto to
   * believe, so that `req.ip` (anonymous callers' rate limit) and `req.secure` (HSTS) are the
   * client's. false: none, the default.
   */
  trustProxy: boolean | number | string[];
  /** `Strict-Transport-Security: max-age=N` on answers over HTTPS (KRR_HSTS_MAX_AGE); 0: not sent. */
  hstsMaxAgeSeconds: number;
  /** How long to keep answering, unready, after SIGTERM before the listener closes (for load balancers). */
  shutdownDelayMs: number;
  /** Gateway mode: null unless KRR_SUBGRAPHS or KRR_SUPERGRAPH_FILE is set. */
  gateway: GatewayConfig | null;
  /** Which other origins' pages may call /graphql and the REST API (KRR_CORS_ORIGINS). */
  cors: CorsConfig;
  /** Worker processes sharing the port and the database (node:cluster); 1: no cluster. */
  workers: number;
  /**
   * `naive` turns DataLoader batching and caching off (one SQL statement per person and
   * field): only for the benchmark's comparison, never for service.
   */
  loaderMode: 'batched' | 'naive';
  /** `jit`: operations compiled by graphql-jit (default); `graphql-js`: the reference executor. */
  executor: 'jit' | 'graphql-js';
}

export interface CorsConfig {
  /** Exact origins, serialized as browsers send them (`https://minside.example`, default port left out). */
  origins: string[];
  /** `http://localhost:<any port>` and `http://127.0.0.1:<any port>`: the development default only. */
  loopbackAnyPort: boolean;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export const DEV_AGENCY_ISSUER = 'urn:krr:dev:agency-issuer';
export const DEV_CITIZEN_ISSUER = 'urn:krr:dev:citizen-issuer';
export const DEV_AUDIENCE = 'urn:krr:dev:api';

const AUTH_VARS = ['KRR_AGENCY_ISSUER', 'KRR_AGENCY_JWKS_URI', 'KRR_CITIZEN_ISSUER', 'KRR_CITIZEN_JWKS_URI', 'KRR_AUDIENCE'] as const;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    return fallback;
  }
  return n;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|on|yes)$/i.test(raw)) return true;
  if (/^(0|false|off|no)$/i.test(raw)) return false;
  problems.push(`${name} must be true or false, got "${raw}"`);
  return fallback;
}

/** `KRR_SUBGRAPHS=letters=http://host:4001/graphql,cases=https://...` */
function subgraphList(raw: string, problems: string[]): { name: string; url: string }[] {
  const list: { name: string; url: string }[] = [];
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const at = entry.indexOf('=');
    const name = entry.slice(0, at).trim();
    const url = entry.slice(at + 1).trim();
    if (at < 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`KRR_SUBGRAPHS: "${entry}" is not name=url (names: letters, digits, _)`);
    else if (name === 'register') problems.push('KRR_SUBGRAPHS: "register" is the register itself; give the other sources other names');
    else if (!/^https?:\/\/[^\s]+$/.test(url)) problems.push(`KRR_SUBGRAPHS: the URL of "${name}" must be http(s)://...`);
    else if (list.some((s) => s.name === name)) problems.push(`KRR_SUBGRAPHS: "${name}" is named twice`);
    else list.push({ name, url });
  }
  return list;
}

/**
 * `KRR_CORS_ORIGINS=https://saksbehandling.nav.example,https://minside.example`: each entry
 * an exact origin (scheme, host, optional port), written as a browser sends it in `Origin`.
 */
function corsOrigins(raw: string, production: boolean, problems: string[]): string[] {
  const origins = new Set<string>();
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const problem = (why: string) => problems.push(`KRR_CORS_ORIGINS: "${entry}" ${why}`);
    if (entry.includes('*')) {
      problem('has a wildcard: list each origin exactly (scheme://host[:port])');
      continue;
    }
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      problem('is not an origin: write scheme://host[:port], e.g. https://minside.example');
      continue;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') problem('must start with https:// (or http://)');
    // URL accepts "https://host/" and "https://host"; an origin has no path, so anything after the host is a mistake.
    else if (!/^[a-z]+:\/\/[^/?#]+$/i.test(entry) || url.username || url.password) problem(`is not an origin: an origin has no path, query or user; write ${url.origin}`);
    else if (production && url.protocol === 'http:') problem('must be https:// in production: a page served over plain http cannot keep a token safe');
    else origins.add(url.origin);
  }
  return [...origins];
}

function jwksUri(value: string, name: string, production: boolean, problems: string[]): string {
  if (/^https?:\/\//.test(value)) {
    try {
      new URL(value);
    } catch {
      problems.push(`${name} is not a valid URL: "${value}"`);
    }
    // Keys fetched over plain HTTP could be swapped on the way.
    if (production && value.startsWith('http://')) problems.push(`${name} must be https:// in production`);
    return value;
  }
  const file = path.resolve(value);
  if (!existsSync(file)) problems.push(`${name}: no such file ${file}`);
  return file;
}

/** A `postgres://` or `postgresql://` URL (KRR_DATABASE_URL, KRR_DATABASE_READ_URL). */
export const isPostgresUrl = (value: string): boolean => /^postgres(ql)?:\/\//.test(value);

/** Express's names for address ranges (proxy-addr). */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * KRR_TRUST_PROXY in Express's `trust proxy` terms: `true` (any proxy: only when nothing can
 * reach the service except through the proxy), a number of proxy hops, or a comma-separated
 * list of addresses, subnets (`10.0.0.0/8`) and range names.
 */
function trustProxy(raw: string | undefined, problems: string[]): boolean | number | string[] {
  if (raw === undefined || raw.trim() === '' || /^(false|0)$/i.test(raw.trim())) return false;
  if (/^true$/i.test(raw.trim())) return true;
  if (/^\d+$/.test(raw.trim())) {
    const hops = Number(raw.trim());
    if (hops > 10) problems.push(`KRR_TRUST_PROXY: ${hops} proxy hops is more than any real chain (at most 10)`);
    return hops;
  }
  const entries = raw.split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32)) || (family === 4 && isIP(prefix) === 4);
    if (!PROXY_RANGE_NAMES.includes(entry) && (family === 0 || !prefixOk || rest.length > 0)) {
      problems.push(`KRR_TRUST_PROXY: "${entry}" is not an address, a subnet (10.0.0.0/8) or one of ${PROXY_RANGE_NAMES.join(', ')}; or give true, false or a number of hops`);
    }
  }
  return entries;
}

function metricsListener(env: NodeJS.ProcessEnv, production: boolean, apiPort: number, problems: string[]): Config['metrics'] {
  const on = flag(env, 'KRR_METRICS', !production, problems);
  if (env.KRR_METRICS_PORT === undefined || env.KRR_METRICS_PORT === '') {
    if (env.KRR_METRICS_HOST) problems.push('KRR_METRICS_HOST needs KRR_METRICS_PORT: it is the address of the metrics port');
    return on ? { listen: 'api' } : { listen: 'off' };
  }
  if (env.KRR_METRICS !== undefined && env.KRR_METRICS !== '' && !on) problems.push('KRR_METRICS=false and KRR_METRICS_PORT contradict each other: unset one');
  const port = integer(env, 'KRR_METRICS_PORT', 0, 0, 65535, problems);
  if (port !== 0 && port === apiPort) problems.push(`KRR_METRICS_PORT must differ from PORT (${apiPort}): the point is to keep /metrics off the API's port`);
  return { listen: 'separate', port, host: env.KRR_METRICS_HOST || '127.0.0.1' };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const nodeEnv = env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';
  const dataDir = path.resolve(env.KRR_DATA_DIR || 'data');

  const set = AUTH_VARS.filter((name) => env[name]);
  // Maskinporten's and ID-porten's own tokens live minutes; two hours leaves room for clients
  // that cache a token, and bounds what a leaked one is worth.
  const maxTokenLifetimeSeconds = integer(env, 'KRR_MAX_TOKEN_LIFETIME_SECONDS', 7200, 60, 86_400, problems);
  let auth: AuthConfig;
  if (set.length === 0) {
    if (nodeEnv === 'production') {
      problems.push(`NODE_ENV=production needs real token issuers: set ${AUTH_VARS.join(', ')}`);
    }
    auth = {
      mode: 'development',
      agency: { issuer: DEV_AGENCY_ISSUER },
      citizen: { issuer: DEV_CITIZEN_ISSUER },
      audience: DEV_AUDIENCE,
      maxTokenLifetimeSeconds,
      keyFile: path.join(dataDir, 'dev-signing-key.json'),
    };
  } else {
    const missing = AUTH_VARS.filter((name) => !env[name]);
    if (missing.length > 0) problems.push(`token issuers are partly configured: also set ${missing.join(', ')}`);
    if (env.KRR_AGENCY_ISSUER && env.KRR_AGENCY_ISSUER === env.KRR_CITIZEN_ISSUER) {
      problems.push('KRR_AGENCY_ISSUER and KRR_CITIZEN_ISSUER must differ: the issuer decides whether a token is an agency or a citizen');
    }
    auth = {
      mode: 'external',
      agency: { issuer: env.KRR_AGENCY_ISSUER ?? '', jwksUri: jwksUri(env.KRR_AGENCY_JWKS_URI ?? '', 'KRR_AGENCY_JWKS_URI', nodeEnv === 'production', problems) },
      citizen: { issuer: env.KRR_CITIZEN_ISSUER ?? '', jwksUri: jwksUri(env.KRR_CITIZEN_JWKS_URI ?? '', 'KRR_CITIZEN_JWKS_URI', nodeEnv === 'production', problems) },
      audience: env.KRR_AUDIENCE ?? '',
      maxTokenLifetimeSeconds,
    };
  }

  const config: Config = {
    env: nodeEnv,
    host: env.HOST || 'localhost',
    port: integer(env, 'PORT', 4000, 0, 65535, problems),
    dataDir,
    dbPath: env.KRR_DB_PATH ? path.resolve(env.KRR_DB_PATH) : path.join(dataDir, 'krr.sqlite'),
    databaseUrl: env.KRR_DATABASE_URL || null,
    databaseReadUrl: env.KRR_DATABASE_READ_URL || null,
    databasePoolSize: integer(env, 'KRR_DATABASE_POOL_SIZE', 10, 1, 1000, problems),
    seedCount: integer(env, 'KRR_SEED_COUNT', 10_000, 0, 10_000_000, problems),
    logLevel: env.LOG_LEVEL || (nodeEnv === 'test' ? 'silent' : 'info'),
    auth,
    outboxFile: env.KRR_OUTBOX_FILE ? path.resolve(env.KRR_OUTBOX_FILE) : path.join(dataDir, 'outbox.jsonl'),
    codeTtlSeconds: integer(env, 'KRR_CODE_TTL_SECONDS', 600, 30, 86_400, problems),
    codeResendSeconds: integer(env, 'KRR_CODE_RESEND_SECONDS', 60, 0, 3600, problems),
    limits: {
      maxDepth: integer(env, 'KRR_MAX_DEPTH', 10, 2, 100, problems),
      maxAliases: integer(env, 'KRR_MAX_ALIASES', 30, 0, 1000, problems),
      maxCost: integer(env, 'KRR_MAX_COST', 80_000, 100, 100_000_000, problems),
      maxTokens: integer(env, 'KRR_MAX_TOKENS', 10_000, 100, 1_000_000, problems),
      maxBodyBytes: integer(env, 'KRR_MAX_BODY_BYTES', 256 * 1024, 1024, 100 * 1024 * 1024, problems),
      maxBatch: integer(env, 'KRR_MAX_BATCH', 1, 1, 100, problems),
      ratePerMinute: integer(env, 'KRR_RATE_LIMIT_PER_MINUTE', 600, 0, 10_000_000, problems),
    },
    introspection: flag(env, 'KRR_INTROSPECTION', nodeEnv !== 'production', problems),
    graphiql: flag(env, 'KRR_GRAPHIQL', nodeEnv !== 'production', problems),
    metrics: { listen: 'off' },
    trustProxy: trustProxy(env.KRR_TRUST_PROXY, problems),
    hstsMaxAgeSeconds: integer(env, 'KRR_HSTS_MAX_AGE', 0, 0, 2 * 365 * 86_400, problems),
    shutdownDelayMs: integer(env, 'KRR_SHUTDOWN_DELAY_MS', 0, 0, 60_000, problems),
    gateway: null,
    // Unset or empty: nobody in production; in development, pages served from this machine.
    cors: env.KRR_CORS_ORIGINS
      ? { origins: corsOrigins(env.KRR_CORS_ORIGINS, nodeEnv === 'production', problems), loopbackAnyPort: false }
      : { origins: [], loopbackAnyPort: nodeEnv !== 'production' },
    workers: integer(env, 'KRR_WORKERS', 1, 1, 64, problems),
    loaderMode: env.KRR_LOADER_MODE === 'naive' ? 'naive' : 'batched',
    executor: env.KRR_EXECUTOR === 'graphql-js' ? 'graphql-js' : 'jit',
  };
  config.metrics = metricsListener(env, nodeEnv === 'production', config.port, problems);
  if (config.databaseUrl && !isPostgresUrl(config.databaseUrl)) problems.push('KRR_DATABASE_URL must be a postgres:// or postgresql:// URL');
  if (config.databaseReadUrl && !config.databaseUrl) problems.push('KRR_DATABASE_READ_URL needs KRR_DATABASE_URL: a read replica serves a PostgreSQL primary');
  if (config.databaseReadUrl && !isPostgresUrl(config.databaseReadUrl)) problems.push('KRR_DATABASE_READ_URL must be a postgres:// or postgresql:// URL');
  if (env.KRR_EXECUTOR && !['jit', 'graphql-js'].includes(env.KRR_EXECUTOR)) problems.push(`KRR_EXECUTOR must be jit or graphql-js, got "${env.KRR_EXECUTOR}"`);
  if (env.KRR_LOADER_MODE && !['naive', 'batched'].includes(env.KRR_LOADER_MODE)) problems.push(`KRR_LOADER_MODE must be batched or naive, got "${env.KRR_LOADER_MODE}"`);
  if (!LOG_LEVELS.includes(config.logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${config.logLevel}"`);
  // Only the development outbox exists so far: production must say it knows (README: Notifier).
  if (env.KRR_NOTIFIER !== undefined && env.KRR_NOTIFIER !== 'outbox') problems.push(`KRR_NOTIFIER must be outbox (the only notifier so far), got "${env.KRR_NOTIFIER}"`);
  if (nodeEnv === 'production' && env.KRR_NOTIFIER !== 'outbox') {
    problems.push('no SMS or email gateway is plugged in: codes would only be written to KRR_OUTBOX_FILE. Set KRR_NOTIFIER=outbox to run so anyway (README: Messages with codes)');
  }
  if (env.KRR_SUPERGRAPH_FILE && !existsSync(path.resolve(env.KRR_SUPERGRAPH_FILE))) problems.push(`KRR_SUPERGRAPH_FILE: no such file ${path.resolve(env.KRR_SUPERGRAPH_FILE)}`);
  if (env.KRR_SUBGRAPHS || env.KRR_SUPERGRAPH_FILE) {
    if (env.KRR_SUBGRAPHS && env.KRR_SUPERGRAPH_FILE) problems.push('set KRR_SUBGRAPHS or KRR_SUPERGRAPH_FILE, not both');
    config.gateway = {
      subgraphs: env.KRR_SUBGRAPHS ? subgraphList(env.KRR_SUBGRAPHS, problems) : [],
      supergraphFile: env.KRR_SUPERGRAPH_FILE ? path.resolve(env.KRR_SUPERGRAPH_FILE) : null,
      timeoutMs: integer(env, 'KRR_SUBGRAPH_TIMEOUT_MS', 5000, 100, 120_000, problems),
    };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
