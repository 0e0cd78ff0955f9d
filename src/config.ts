import { existsSync } from 'node:fs';
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

export type AuthConfig =
  | { mode: 'external'; agency: IssuerConfig; citizen: IssuerConfig; audience: string }
  | { mode: 'development'; agency: { issuer: string }; citizen: { issuer: string }; audience: string; keyFile: string };

/** The keys that sign REST answers asked for as `application/jose` (src/http/signing.ts). */
export type AnswerSigningConfig =
  | { mode: 'file'; keyFile: string }
  /** A local ES256 key made on first use under the data directory; refused in production. */
  | { mode: 'development'; keyFile: string };

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
  /** KRR_SIGNING_KEY_FILE: the keys of signed REST answers. */
  answerSigning: AnswerSigningConfig;
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
  metrics: boolean;
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
  /**
   * KRR_AUDIT_RETENTION_DAYS: lookup records older than this are deleted in the background
   * (docs/operations.md); 0 keeps them forever. Default 730 (two years).
   */
  auditRetentionDays: number;
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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const nodeEnv = env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';
  const dataDir = path.resolve(env.KRR_DATA_DIR || 'data');

  const set = AUTH_VARS.filter((name) => env[name]);
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
    answerSigning: env.KRR_SIGNING_KEY_FILE
      ? { mode: 'file', keyFile: path.resolve(env.KRR_SIGNING_KEY_FILE) }
      : { mode: 'development', keyFile: path.join(dataDir, 'dev-answer-signing-key.json') },
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
    metrics: flag(env, 'KRR_METRICS', true, problems),
    shutdownDelayMs: integer(env, 'KRR_SHUTDOWN_DELAY_MS', 0, 0, 60_000, problems),
    gateway: null,
    // Unset or empty: nobody in production; in development, pages served from this machine.
    cors: env.KRR_CORS_ORIGINS
      ? { origins: corsOrigins(env.KRR_CORS_ORIGINS, nodeEnv === 'production', problems), loopbackAnyPort: false }
      : { origins: [], loopbackAnyPort: nodeEnv !== 'production' },
    workers: integer(env, 'KRR_WORKERS', 1, 1, 64, problems),
    loaderMode: env.KRR_LOADER_MODE === 'naive' ? 'naive' : 'batched',
    executor: env.KRR_EXECUTOR === 'graphql-js' ? 'graphql-js' : 'jit',
    auditRetentionDays: integer(env, 'KRR_AUDIT_RETENTION_DAYS', 730, 0, 36_500, problems),
  };
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
  if (config.answerSigning.mode === 'file' && !existsSync(config.answerSigning.keyFile)) problems.push(`KRR_SIGNING_KEY_FILE: no such file ${config.answerSigning.keyFile}`);
  // A key made on the spot would sign answers no agency can tie to the register's published keys.
  if (nodeEnv === 'production' && config.answerSigning.mode === 'development') {
    problems.push('NODE_ENV=production needs the key that signs answers: set KRR_SIGNING_KEY_FILE (a private JWK, a JWK set whose first key signs, or PEM)');
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
