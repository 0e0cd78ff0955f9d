import { existsSync, readFileSync } from 'node:fs';
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

/** The keys that sign REST answers asked for as `application/jose` (src/http/signing.ts). */
export type AnswerSigningConfig =
  | { mode: 'file'; keyFile: string }
  /** A local ES256 key made on first use under the data directory; refused in production. */
  | { mode: 'development'; keyFile: string };

/** How the gateway gets a token of its own for one source (never the caller's). */
export type SourceTokenConfig =
  /** A token read from a file (re-read when the file changes, so a mounted secret can rotate). */
  | { kind: 'file'; file: string }
  /**
   * OAuth2 JWT-bearer grant (RFC 7523, as Maskinporten does it): the gateway signs an
   * assertion with its client key and trades it for an access token at `tokenUrl`.
   */
  | { kind: 'jwt-grant'; tokenUrl: string; issuer: string; audience: string; scope: string; resource: string | null; keyFile: string; keyId: string | null };

/** What one source of the graph is sent besides the query (KRR_SOURCES_FILE); nothing unless configured. */
export interface SourceOptions {
  /** Overrides the supergraph file's routing URL for this source. */
  url: string | null;
  /** Client headers passed on as they came (lower case). Default none. */
  forwardHeaders: string[];
  token: SourceTokenConfig | null;
  /** Send a short-lived JWT signed by the gateway saying who the caller is (`krr-caller`). */
  callerIdentity: boolean;
}

export interface GatewayConfig {
  /** Other subgraphs, composed at start-up with the register (KRR_SUBGRAPHS). */
  subgraphs: { name: string; url: string }[];
  /** A supergraph composed beforehand (rover or @apollo/composition); its `register` subgraph runs in-process. */
  supergraphFile: string | null;
  /** Per source, by name: what it is sent (KRR_SOURCES_FILE). A source not named gets the query only. */
  sources: Record<string, SourceOptions>;
  /** With KRR_SUBGRAPHS: how often to introspect and recompose (0: once, at start-up). */
  pollSeconds: number;
  /** How long a source may take to answer before it counts as down. */
  timeoutMs: number;
  /** Sources (and token endpoints) must be https:// (production). */
  httpsOnly: boolean;
  /** The gateway's own signing key for caller-identity tokens (a private JWK; made in development). */
  callerKeyFile: string;
  /** `iss` of the caller-identity tokens. */
  callerIssuer: string;
}

/** How the follower authenticates to its upstream. */
export type UpstreamCredentials =
  /** A bearer token kept in a file by something else (re-read whenever the file changes). */
  | { kind: 'token-file'; file: string }
  /** Maskinporten's JWT-bearer grant: a token for `scopes`, renewed before it expires. */
  | { kind: 'maskinporten'; tokenUrl: string; audience: string; clientId: string; privateKeyFile: string; keyId: string | null; scopes: string[] };

/** Follower mode (KRR_UPSTREAM_URL): this service is a local copy of another register. */
export interface UpstreamConfig {
  /** The upstream's base URL; its feed is `POST {url}/rest/v2/krr/hentEndringer`. */
  url: string;
  credentials: UpstreamCredentials;
  /** The wait after catching up before asking again. */
  pollSeconds: number;
  /** /readyz answers 503 when the last successful sync is older than this. */
  maxStalenessSeconds: number;
  /** The position to start after when none is stored yet (after an import of an export file); 0: the whole feed. */
  startAfter: number;
  /** How long one request to the upstream (or its token endpoint) may take. */
  timeoutMs: number;
  /** The cap of the backoff between failed attempts. */
  maxBackoffSeconds: number;
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
  /** Codes to one address (from any citizen) per rolling hour and per rolling day. */
  codesPerAddressPerHour: number;
  codesPerAddressPerDay: number;
  /** Wrong codes one citizen may enter per rolling day. */
  failedCodesPerDay: number;
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
  /** Follower mode: null unless KRR_UPSTREAM_URL is set. */
  upstream: UpstreamConfig | null;
  /** Which other origins' pages may call /graphql and the REST API (KRR_CORS_ORIGINS). */
  cors: CorsConfig;
  /** Worker processes sharing the port and the database (node:cluster); 1: no cluster. */
  workers: number;
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

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** Headers that belong to the connection or the gateway's own request, never a client's to pass on. */
const UNFORWARDABLE = new Set(['host', 'connection', 'content-length', 'content-type', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'keep-alive', 'accept-encoding', 'expect', 'krr-caller']);

function webUrl(value: unknown, what: string, httpsOnly: boolean, problems: string[]): string | null {
  if (typeof value !== 'string' || !/^https?:\/\/[^\s]+$/.test(value) || !URL.canParse(value)) {
    problems.push(`${what} must be an http(s):// URL, got ${JSON.stringify(value)}`);
    return null;
  }
  if (httpsOnly && !value.startsWith('https://')) problems.push(`${what} must be https:// in production (a source's answers and the gateway's tokens would cross the network in clear)`);
  return value;
}

const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

function unknownKeys(value: Record<string, unknown>, known: readonly string[], what: string, problems: string[]): void {
  for (const key of Object.keys(value)) if (!known.includes(key)) problems.push(`${what}: unknown setting "${key}" (known: ${known.join(', ')})`);
}

function sourceToken(raw: unknown, what: string, httpsOnly: boolean, problems: string[]): SourceTokenConfig | null {
  if (raw === undefined || raw === null) return null;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(raw) || Object.keys(raw).length !== 1 || !('file' in raw || 'jwtGrant' in raw)) {
    problems.push(`${what} must be {"file": "<path>"} or {"jwtGrant": {...}}`);
    return null;
  }
  if ('file' in raw) {
    if (!nonEmptyString(raw.file)) problems.push(`${what}.file must be a path`);
    else if (!existsSync(path.resolve(raw.file))) problems.push(`${what}.file: no such file ${path.resolve(raw.file)}`);
    else return { kind: 'file', file: path.resolve(raw.file) };
    return null;
  }
  const grant = raw.jwtGrant;
  if (!isObj(grant)) {
    problems.push(`${what}.jwtGrant must be an object`);
    return null;
  }
  const at = `${what}.jwtGrant`;
  unknownKeys(grant, ['tokenUrl', 'issuer', 'audience', 'scope', 'resource', 'keyFile', 'keyId'], at, problems);
  const tokenUrl = webUrl(grant.tokenUrl, `${at}.tokenUrl`, httpsOnly, problems);
  for (const key of ['issuer', 'scope', 'keyFile'] as const) if (!nonEmptyString(grant[key])) problems.push(`${at}.${key} is required (a non-empty string)`);
  for (const key of ['audience', 'resource', 'keyId'] as const) if (grant[key] !== undefined && !nonEmptyString(grant[key])) problems.push(`${at}.${key} must be a non-empty string`);
  if (nonEmptyString(grant.keyFile) && !existsSync(path.resolve(grant.keyFile))) problems.push(`${at}.keyFile: no such file ${path.resolve(grant.keyFile)}`);
  if (!tokenUrl || !nonEmptyString(grant.issuer) || !nonEmptyString(grant.scope) || !nonEmptyString(grant.keyFile)) return null;
  return {
    kind: 'jwt-grant',
    tokenUrl,
    issuer: grant.issuer,
    // Maskinporten wants its own issuer as the audience; by default the token URL's origin with a slash.
    audience: nonEmptyString(grant.audience) ? grant.audience : `${new URL(tokenUrl).origin}/`,
    scope: grant.scope,
    resource: nonEmptyString(grant.resource) ? grant.resource : null,
    keyFile: path.resolve(grant.keyFile),
    keyId: nonEmptyString(grant.keyId) ? grant.keyId : null,
  };
}

/** KRR_SOURCES_FILE: `{"<source>": {"url"?, "forwardHeaders"?, "token"?, "callerIdentity"?}, ...}` */
function sourcesFile(file: string, httpsOnly: boolean, problems: string[]): Record<string, SourceOptions> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push(`KRR_SOURCES_FILE: cannot read ${file} as JSON (${error instanceof Error ? error.message : String(error)})`);
    return {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push('KRR_SOURCES_FILE must hold one JSON object: {"<source name>": {...}, ...}');
    return {};
  }
  const sources: Record<string, SourceOptions> = {};
  for (const [name, entry] of Object.entries(raw)) {
    const what = `KRR_SOURCES_FILE: "${name}"`;
    if (name === 'register') {
      problems.push(`${what} is the register itself, which runs in this process and needs no settings`);
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${what} must be an object`);
      continue;
    }
    const e = entry as Record<string, unknown>;
    unknownKeys(e, ['url', 'forwardHeaders', 'token', 'callerIdentity'], what, problems);
    const forward = e.forwardHeaders ?? [];
    const headers: string[] = [];
    if (!Array.isArray(forward) || !forward.every((h) => typeof h === 'string')) problems.push(`${what}.forwardHeaders must be a list of header names`);
    else {
      for (const header of forward.map((h: string) => h.trim().toLowerCase())) {
        if (!HEADER_NAME.test(header)) problems.push(`${what}.forwardHeaders: "${header}" is not a header name`);
        else if (UNFORWARDABLE.has(header) || header.startsWith('proxy-')) problems.push(`${what}.forwardHeaders: "${header}" belongs to the connection or the gateway and is never forwarded`);
        else headers.push(header);
      }
    }
    const token = sourceToken(e.token, `${what}.token`, httpsOnly, problems);
    if (token && headers.includes('authorization')) problems.push(`${what}: forward the caller's authorization or send a token of the gateway's own, not both`);
    if (e.callerIdentity !== undefined && typeof e.callerIdentity !== 'boolean') problems.push(`${what}.callerIdentity must be true or false`);
    sources[name] = {
      url: e.url === undefined ? null : webUrl(e.url, `${what}.url`, httpsOnly, problems),
      forwardHeaders: headers,
      token,
      callerIdentity: e.callerIdentity === true,
    };
  }
  return sources;
}

/** `KRR_SUBGRAPHS=letters=http://host:4001/graphql,cases=https://...` */
function subgraphList(raw: string, httpsOnly: boolean, problems: string[]): { name: string; url: string }[] {
  const list: { name: string; url: string }[] = [];
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const at = entry.indexOf('=');
    const name = entry.slice(0, at).trim();
    const url = entry.slice(at + 1).trim();
    if (at < 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`KRR_SUBGRAPHS: "${entry}" is not name=url (names: letters, digits, _)`);
    else if (name === 'register') problems.push('KRR_SUBGRAPHS: "register" is the register itself; give the other sources other names');
    else if (list.some((s) => s.name === name)) problems.push(`KRR_SUBGRAPHS: "${name}" is named twice`);
    else if (webUrl(url, `KRR_SUBGRAPHS: the URL of "${name}"`, httpsOnly, problems)) list.push({ name, url });
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

/** Where the register's data is: all a tool that only opens the store needs (import, export). */
export type StoreConfig = Pick<Config, 'dataDir' | 'dbPath' | 'databaseUrl' | 'databaseReadUrl' | 'databasePoolSize'>;

function storeSettings(env: NodeJS.ProcessEnv, problems: string[]): StoreConfig {
  const dataDir = path.resolve(env.KRR_DATA_DIR || 'data');
  const settings: StoreConfig = {
    dataDir,
    dbPath: env.KRR_DB_PATH ? path.resolve(env.KRR_DB_PATH) : path.join(dataDir, 'krr.sqlite'),
    databaseUrl: env.KRR_DATABASE_URL || null,
    databaseReadUrl: env.KRR_DATABASE_READ_URL || null,
    databasePoolSize: integer(env, 'KRR_DATABASE_POOL_SIZE', 10, 1, 1000, problems),
  };
  if (settings.databaseUrl && !isPostgresUrl(settings.databaseUrl)) problems.push('KRR_DATABASE_URL must be a postgres:// or postgresql:// URL');
  if (settings.databaseReadUrl && !settings.databaseUrl) problems.push('KRR_DATABASE_READ_URL needs KRR_DATABASE_URL: a read replica serves a PostgreSQL primary');
  if (settings.databaseReadUrl && !isPostgresUrl(settings.databaseReadUrl)) problems.push('KRR_DATABASE_READ_URL must be a postgres:// or postgresql:// URL');
  return settings;
}

/**
 * The store's settings only (KRR_DATA_DIR, KRR_DB_PATH, KRR_DATABASE_URL, ...), for the
 * import and export CLIs: they run in production without the server's token issuers or
 * notifier.
 */
export function loadStoreConfig(env: NodeJS.ProcessEnv = process.env): StoreConfig {
  const problems: string[] = [];
  const settings = storeSettings(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

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
    ...storeSettings(env, problems),
    seedCount: integer(env, 'KRR_SEED_COUNT', 10_000, 0, 10_000_000, problems),
    logLevel: env.LOG_LEVEL || (nodeEnv === 'test' ? 'silent' : 'info'),
    auth,
    answerSigning: env.KRR_SIGNING_KEY_FILE
      ? { mode: 'file', keyFile: path.resolve(env.KRR_SIGNING_KEY_FILE) }
      : { mode: 'development', keyFile: path.join(dataDir, 'dev-answer-signing-key.json') },
    outboxFile: env.KRR_OUTBOX_FILE ? path.resolve(env.KRR_OUTBOX_FILE) : path.join(dataDir, 'outbox.jsonl'),
    codeTtlSeconds: integer(env, 'KRR_CODE_TTL_SECONDS', 600, 30, 86_400, problems),
    codeResendSeconds: integer(env, 'KRR_CODE_RESEND_SECONDS', 60, 0, 3600, problems),
    codesPerAddressPerHour: integer(env, 'KRR_CODES_PER_ADDRESS_PER_HOUR', 5, 1, 1_000_000, problems),
    codesPerAddressPerDay: integer(env, 'KRR_CODES_PER_ADDRESS_PER_DAY', 10, 1, 1_000_000, problems),
    failedCodesPerDay: integer(env, 'KRR_FAILED_CODES_PER_DAY', 20, 1, 1_000_000, problems),
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
    upstream: null,
    // Unset or empty: nobody in production; in development, pages served from this machine.
    cors: env.KRR_CORS_ORIGINS
      ? { origins: corsOrigins(env.KRR_CORS_ORIGINS, nodeEnv === 'production', problems), loopbackAnyPort: false }
      : { origins: [], loopbackAnyPort: nodeEnv !== 'production' },
    workers: integer(env, 'KRR_WORKERS', 1, 1, 64, problems),
    executor: env.KRR_EXECUTOR === 'graphql-js' ? 'graphql-js' : 'jit',
    auditRetentionDays: integer(env, 'KRR_AUDIT_RETENTION_DAYS', 730, 0, 36_500, problems),
  };
  config.metrics = metricsListener(env, nodeEnv === 'production', config.port, problems);
  if (env.KRR_EXECUTOR && !['jit', 'graphql-js'].includes(env.KRR_EXECUTOR)) problems.push(`KRR_EXECUTOR must be jit or graphql-js, got "${env.KRR_EXECUTOR}"`);
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
    const production = nodeEnv === 'production';
    if (env.KRR_SUBGRAPHS && env.KRR_SUPERGRAPH_FILE) problems.push('set KRR_SUBGRAPHS or KRR_SUPERGRAPH_FILE, not both');
    if (env.KRR_SUPERGRAPH_FILE && env.KRR_SUBGRAPH_POLL_SECONDS) problems.push('KRR_SUBGRAPH_POLL_SECONDS recomposes from KRR_SUBGRAPHS; a supergraph file is read once');
    // Composing from what the sources say at start-up lets a source change the graph by
    // changing its answer; production serves a supergraph that was composed and reviewed.
    if (production && env.KRR_SUBGRAPHS && !flag(env, 'KRR_ALLOW_RUNTIME_COMPOSITION', false, problems)) {
      problems.push('in production the gateway serves only a supergraph composed ahead of time: set KRR_SUPERGRAPH_FILE (see docs/federation.md), or KRR_ALLOW_RUNTIME_COMPOSITION=true to compose from KRR_SUBGRAPHS anyway');
    }
    const subgraphs = env.KRR_SUBGRAPHS ? subgraphList(env.KRR_SUBGRAPHS, production, problems) : [];
    const sources = env.KRR_SOURCES_FILE ? sourcesFile(path.resolve(env.KRR_SOURCES_FILE), production, problems) : {};
    for (const [name, options] of Object.entries(sources)) {
      if (!env.KRR_SUBGRAPHS) continue;
      if (!subgraphs.some((s) => s.name === name)) problems.push(`KRR_SOURCES_FILE: "${name}" is not in KRR_SUBGRAPHS`);
      if (options.url) problems.push(`KRR_SOURCES_FILE: "${name}" has its URL in KRR_SUBGRAPHS; give it once`);
    }
    const callerKeyFile = env.KRR_GATEWAY_KEY_FILE ? path.resolve(env.KRR_GATEWAY_KEY_FILE) : path.join(dataDir, 'gateway-signing-key.json');
    if (production && Object.values(sources).some((s) => s.callerIdentity) && !(env.KRR_GATEWAY_KEY_FILE && existsSync(callerKeyFile))) {
      problems.push('callerIdentity needs the gateway\'s signing key in production: set KRR_GATEWAY_KEY_FILE to a private JWK file (docs/federation.md)');
    }
    config.gateway = {
      subgraphs,
      supergraphFile: env.KRR_SUPERGRAPH_FILE ? path.resolve(env.KRR_SUPERGRAPH_FILE) : null,
      sources,
      pollSeconds: integer(env, 'KRR_SUBGRAPH_POLL_SECONDS', 0, 0, 86_400, problems),
      timeoutMs: integer(env, 'KRR_SUBGRAPH_TIMEOUT_MS', 5000, 100, 120_000, problems),
      httpsOnly: production,
      callerKeyFile,
      callerIssuer: env.KRR_GATEWAY_ISSUER || 'urn:krr:gateway',
    };
  } else if (env.KRR_SOURCES_FILE) {
    problems.push('KRR_SOURCES_FILE configures gateway mode: set KRR_SUPERGRAPH_FILE (or KRR_SUBGRAPHS) too');
  }
  if (env.KRR_UPSTREAM_URL) {
    config.upstream = upstreamConfig(env, nodeEnv === 'production', problems);
    // The copy's people come from the upstream only.
    if (env.KRR_SEED_COUNT && config.seedCount > 0) problems.push('KRR_SEED_COUNT: a copy (KRR_UPSTREAM_URL) is filled from its upstream, never seeded');
    config.seedCount = 0;
  } else {
    const stray = UPSTREAM_VARS.filter((name) => env[name]);
    if (stray.length > 0) problems.push(`${stray.join(', ')} ${stray.length === 1 ? 'needs' : 'need'} KRR_UPSTREAM_URL (follower mode)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const UPSTREAM_VARS = [
  'KRR_UPSTREAM_TOKEN_FILE',
  'KRR_UPSTREAM_TOKEN_URL',
  'KRR_UPSTREAM_CLIENT_ID',
  'KRR_UPSTREAM_PRIVATE_KEY_FILE',
  'KRR_UPSTREAM_KEY_ID',
  'KRR_UPSTREAM_TOKEN_AUDIENCE',
  'KRR_UPSTREAM_SCOPES',
  'KRR_UPSTREAM_POLL_SECONDS',
  'KRR_UPSTREAM_MAX_STALENESS_SECONDS',
  'KRR_UPSTREAM_START_AFTER',
  'KRR_UPSTREAM_TIMEOUT_SECONDS',
  'KRR_UPSTREAM_MAX_BACKOFF_SECONDS',
] as const;

/** The feed and what the copy serves: the change feed scope plus the read scopes. */
export const DEFAULT_UPSTREAM_SCOPES = ['krr:global/hentendring.read', 'krr:global/kontaktinformasjon.read', 'krr:global/digitalpost.read'];

function httpUrl(value: string, name: string, production: boolean, problems: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    problems.push(`${name} is not a valid URL: "${value}"`);
    return value;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') problems.push(`${name} must be http(s)://, got "${value}"`);
  // Tokens and people's contact details would cross the network readable.
  else if (production && parsed.protocol === 'http:') problems.push(`${name} must be https:// in production`);
  return value.replace(/\/+$/, '');
}

function upstreamConfig(env: NodeJS.ProcessEnv, production: boolean, problems: string[]): UpstreamConfig {
  const url = httpUrl(env.KRR_UPSTREAM_URL ?? '', 'KRR_UPSTREAM_URL', production, problems);
  let credentials: UpstreamCredentials = { kind: 'token-file', file: '' };
  const maskinportenVars = ['KRR_UPSTREAM_TOKEN_URL', 'KRR_UPSTREAM_CLIENT_ID', 'KRR_UPSTREAM_PRIVATE_KEY_FILE'] as const;
  const givenMaskinporten = maskinportenVars.filter((name) => env[name]);
  if (env.KRR_UPSTREAM_TOKEN_FILE && givenMaskinporten.length > 0) {
    problems.push(`set KRR_UPSTREAM_TOKEN_FILE or Maskinporten (${maskinportenVars.join(', ')}), not both`);
  } else if (env.KRR_UPSTREAM_TOKEN_FILE) {
    const file = path.resolve(env.KRR_UPSTREAM_TOKEN_FILE);
    if (!existsSync(file)) problems.push(`KRR_UPSTREAM_TOKEN_FILE: no such file ${file}`);
    credentials = { kind: 'token-file', file };
  } else if (givenMaskinporten.length > 0) {
    const missing = maskinportenVars.filter((name) => !env[name]);
    if (missing.length > 0) problems.push(`Maskinporten for the upstream is partly configured: also set ${missing.join(', ')}`);
    const tokenUrl = httpUrl(env.KRR_UPSTREAM_TOKEN_URL ?? '', 'KRR_UPSTREAM_TOKEN_URL', production, problems);
    const privateKeyFile = path.resolve(env.KRR_UPSTREAM_PRIVATE_KEY_FILE ?? '');
    if (env.KRR_UPSTREAM_PRIVATE_KEY_FILE && !existsSync(privateKeyFile)) problems.push(`KRR_UPSTREAM_PRIVATE_KEY_FILE: no such file ${privateKeyFile}`);
    let audience = env.KRR_UPSTREAM_TOKEN_AUDIENCE ?? '';
    if (!audience) {
      // Maskinporten's issuer identifier, e.g. https://maskinporten.no/ for https://maskinporten.no/token.
      try {
        audience = `${new URL(tokenUrl).origin}/`;
      } catch {
        // reported by httpUrl
      }
    }
    const scopes = (env.KRR_UPSTREAM_SCOPES ?? '').split(/[\s,]+/).filter(Boolean);
    credentials = {
      kind: 'maskinporten',
      tokenUrl,
      audience,
      clientId: env.KRR_UPSTREAM_CLIENT_ID ?? '',
      privateKeyFile,
      keyId: env.KRR_UPSTREAM_KEY_ID || null,
      scopes: scopes.length > 0 ? scopes : DEFAULT_UPSTREAM_SCOPES,
    };
    if (!credentials.scopes.includes('krr:global/hentendring.read')) problems.push('KRR_UPSTREAM_SCOPES must include krr:global/hentendring.read: the feed needs it');
  } else {
    problems.push(`KRR_UPSTREAM_URL needs credentials: KRR_UPSTREAM_TOKEN_FILE, or Maskinporten (${maskinportenVars.join(', ')})`);
  }
  return {
    url,
    credentials,
    pollSeconds: integer(env, 'KRR_UPSTREAM_POLL_SECONDS', 60, 1, 86_400, problems),
    maxStalenessSeconds: integer(env, 'KRR_UPSTREAM_MAX_STALENESS_SECONDS', 86_400, 1, 31 * 86_400, problems),
    startAfter: integer(env, 'KRR_UPSTREAM_START_AFTER', 0, 0, Number.MAX_SAFE_INTEGER, problems),
    timeoutMs: integer(env, 'KRR_UPSTREAM_TIMEOUT_SECONDS', 30, 1, 600, problems) * 1000,
    maxBackoffSeconds: integer(env, 'KRR_UPSTREAM_MAX_BACKOFF_SECONDS', 300, 1, 3600, problems),
  };
}
