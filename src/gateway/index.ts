import { ApolloGateway, IntrospectAndCompose, LocalGraphQLDataSource, RemoteGraphQLDataSource, type SupergraphManager } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import type { Fetcher } from '@apollo/utils.fetcher';
import type { GraphQLSchema } from 'graphql';
import type { JSONWebKeySet } from 'jose';
import { readFileSync } from 'node:fs';
import { loadOrCreateDevKey, type DevSigningKey } from '../auth/keys';
import { ConfigError, type GatewayConfig, type SourceOptions } from '../config';
import { sourceUnavailable } from '../errors';
import type { Context } from '../graphql/context';
import { printRegisterSubgraph } from '../graphql/subgraph';
import type { Logger } from '../logger';
import { CALLER_HEADER, callerIdentityToken } from './caller-identity';
import { assertRegisterOwnsItsFields, registerOwnershipProblems, REGISTER_SUBGRAPH } from './ownership';
import { sourceCredential, type SourceCredential } from './source-credentials';

export { REGISTER_SUBGRAPH } from './ownership';

const NOTHING_FORWARDED: SourceOptions = { url: null, forwardHeaders: [], token: null, callerIdentity: false };

/**
 * Another source of the graph, reached over HTTP. It gets the query and, only as its
 * settings say, some of the client's headers, a token of the gateway's own, and a signed
 * statement of who the caller is; never the caller's token unless `authorization` is listed.
 * A source that fails, does not answer within the timeout, or whose token cannot be had
 * becomes one error naming it (SOURCE_UNAVAILABLE); the register's fields still answer.
 */
class SourceDataSource extends RemoteGraphQLDataSource<Context> {
  private readonly credential: SourceCredential | null;

  constructor(
    private readonly source: string,
    url: string,
    private readonly options: SourceOptions,
    private readonly callerKey: (() => Promise<DevSigningKey>) | null,
    private readonly issuer: string,
    timeoutMs: number,
    private readonly logger: Logger,
  ) {
    const fetcher: Fetcher = (input, init) => fetch(input, { ...(init as RequestInit), signal: AbortSignal.timeout(timeoutMs) }) as never;
    super({ url, fetcher });
    this.credential = options.token ? sourceCredential(options.token, timeoutMs) : null;
  }

  override async willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<Context>['willSendRequest']>>[0]): Promise<void> {
    const headers = request.http!.headers;
    const client = (context as Partial<Context>).clientHeaders ?? {};
    for (const name of this.options.forwardHeaders) {
      const value = client[name];
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    try {
      if (this.credential) headers.set('authorization', await this.credential.authorization());
      const viewer = (context as Partial<Context>).viewer;
      if (this.callerKey && viewer) headers.set(CALLER_HEADER, await callerIdentityToken(viewer, this.source, this.issuer, await this.callerKey()));
    } catch (error) {
      // No token of the gateway's own: the source is not asked at all, rather than asked without it.
      this.didEncounterError(error as Error);
    }
  }

  override didEncounterError(error: Error): void {
    this.logger.warn({ source: this.source, err: error }, 'source of the graph failed');
    // A ClientError as a resolver throws one: Apollo takes its code and details as the error's extensions.
    throw sourceUnavailable(this.source);
  }
}

/** The routing URL of every source in a supergraph file, refused where production needs https. */
function supergraphUrls(sdl: string, config: GatewayConfig): Map<string, string> {
  const problems: string[] = [];
  const urls = new Map<string, string>();
  for (const { name, url } of Supergraph.build(sdl).subgraphsMetadata()) {
    if (name === REGISTER_SUBGRAPH) continue;
    const chosen = config.sources[name]?.url ?? url;
    if (config.httpsOnly && !chosen.startsWith('https://')) problems.push(`KRR_SUPERGRAPH_FILE: the source "${name}" is at ${chosen}: sources must be https:// in production (or give its https URL in KRR_SOURCES_FILE)`);
    urls.set(name, chosen);
  }
  for (const name of Object.keys(config.sources)) if (!urls.has(name)) problems.push(`KRR_SOURCES_FILE: "${name}" is not a source of the supergraph (${[...urls.keys()].join(', ') || 'none'})`);
  if (problems.length > 0) throw new ConfigError(problems);
  return urls;
}

/**
 * Where the composed graph comes from, checked before it is served: a supergraph file read
 * once, or the sources introspected and composed at start-up (and every `pollSeconds`).
 * A graph in which another source would take over one of the register's fields is refused:
 * at start-up the service does not start; on a recomposition the graph in service stays.
 */
function checkedSupergraph(config: GatewayConfig, registerSdl: string, logger: Logger, urls: { current: Map<string, string> }): SupergraphManager {
  return {
    async initialize(hooks) {
      if (config.supergraphFile !== null) {
        const supergraphSdl = readFileSync(config.supergraphFile, 'utf8');
        urls.current = supergraphUrls(supergraphSdl, config);
        assertRegisterOwnsItsFields(supergraphSdl, registerSdl);
        return { supergraphSdl };
      }
      const composing = new IntrospectAndCompose({
        subgraphs: [{ name: REGISTER_SUBGRAPH, url: 'in-process://register' }, ...config.subgraphs],
        ...(config.pollSeconds > 0 ? { pollIntervalInMs: config.pollSeconds * 1000 } : {}),
      });
      const { supergraphSdl, cleanup } = await composing.initialize({
        ...hooks,
        update(next) {
          let problems: string[];
          try {
            problems = registerOwnershipProblems(next, registerSdl);
          } catch (error) {
            // A feature this gateway cannot serve (Supergraph.build refuses it): keep the graph in service.
            problems = [`the composed graph cannot be read: ${error instanceof Error ? error.message : String(error)}`];
          }
          if (problems.length > 0) {
            logger.error({ problems }, 'recomposition refused: the register owns its fields; the graph in service is kept');
            return;
          }
          hooks.update(next);
        },
      });
      try {
        assertRegisterOwnsItsFields(supergraphSdl, registerSdl);
      } catch (error) {
        await cleanup?.();
        throw error;
      }
      return { supergraphSdl, cleanup };
    },
  };
}

export interface RegisterGateway {
  gateway: ApolloGateway;
  /** The public key of caller-identity tokens, when a source gets them (served at /gateway/jwks.json). */
  callerJwks: (() => Promise<JSONWebKeySet>) | null;
}

/**
 * Apollo Gateway in this process over the register and the configured sources. The
 * register is executed in-process (no network hop), with the request's own context, so
 * its authentication, scopes, loaders and audit log work exactly as without the gateway.
 */
export function createRegisterGateway(registerSchema: GraphQLSchema, config: GatewayConfig, logger: Logger): RegisterGateway {
  const register = new LocalGraphQLDataSource<Context>(registerSchema);
  const registerSdl = printRegisterSubgraph(registerSchema);
  let key: Promise<DevSigningKey> | null = null;
  const callerKey = () => (key ??= loadOrCreateDevKey(config.callerKeyFile));
  const wantsCaller = Object.values(config.sources).some((s) => s.callerIdentity);
  const urls = { current: new Map(config.subgraphs.map((s) => [s.name, s.url])) };
  for (const [name, options] of Object.entries(config.sources)) {
    if (options.forwardHeaders.includes('authorization')) logger.warn({ source: name }, 'the caller\u2019s Authorization header is forwarded to this source: it could replay agencies\u2019 and citizens\u2019 tokens');
  }
  const gateway = new ApolloGateway({
    supergraphSdl: checkedSupergraph(config, registerSdl, logger, urls),
    buildService: ({ name, url }) => {
      if (name === REGISTER_SUBGRAPH) return register;
      const options = config.sources[name] ?? NOTHING_FORWARDED;
      return new SourceDataSource(name, urls.current.get(name) ?? url ?? '', options, options.callerIdentity ? callerKey : null, config.callerIssuer, config.timeoutMs, logger);
    },
    logger: { debug: (m) => logger.debug(m), info: (m) => logger.info(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
  });
  return { gateway, callerJwks: wantsCaller ? async () => (await callerKey()).publicJwks : null };
}
