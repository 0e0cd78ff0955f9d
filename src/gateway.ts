import { ApolloGateway, IntrospectAndCompose, LocalGraphQLDataSource, RemoteGraphQLDataSource } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from './config';
import { ErrorCode } from './errors';
import type { Context } from './graphql/context';
import type { Logger } from './logger';

/** The register's name in the composed graph (and in a supergraph file made with rover). */
export const REGISTER_SUBGRAPH = 'register';

/**
 * Another source of the graph, reached over HTTP with the caller's own Authorization
 * header. A source that fails or does not answer within the timeout becomes one error
 * naming it (SOURCE_UNAVAILABLE); the rest of the answer, the register's fields among it,
 * still comes back.
 */
class ForwardingDataSource extends RemoteGraphQLDataSource<Context> {
  constructor(
    private readonly source: string,
    url: string,
    timeoutMs: number,
    private readonly logger: Logger,
  ) {
    const fetcher: Fetcher = (input, init) => fetch(input, { ...(init as RequestInit), signal: AbortSignal.timeout(timeoutMs) }) as never;
    super({ url, fetcher });
  }

  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<Context>['willSendRequest']>>[0]): void {
    const { authorization } = context as Partial<Context>;
    if (authorization) request.http?.headers.set('authorization', authorization);
  }

  override didEncounterError(error: Error): void {
    this.logger.warn({ source: this.source, err: error }, 'source of the graph failed');
    throw new GraphQLError(`The source "${this.source}" did not answer`, { extensions: { code: ErrorCode.SOURCE_UNAVAILABLE, source: this.source } });
  }
}

/**
 * Apollo Gateway in this process over the register and the configured sources. The
 * register is executed in-process (no network hop), with the request's own context, so
 * its authentication, scopes, loaders and audit log work exactly as without the gateway.
 */
export function createRegisterGateway(registerSchema: GraphQLSchema, config: GatewayConfig, logger: Logger): ApolloGateway {
  const register = new LocalGraphQLDataSource<Context>(registerSchema);
  return new ApolloGateway({
    supergraphSdl:
      config.supergraphFile !== null
        ? readFileSync(config.supergraphFile, 'utf8')
        : new IntrospectAndCompose({
            subgraphs: [{ name: REGISTER_SUBGRAPH, url: 'in-process://register' }, ...config.subgraphs],
          }),
    buildService: ({ name, url }) => (name === REGISTER_SUBGRAPH ? register : new ForwardingDataSource(name, url ?? '', config.timeoutMs, logger)),
    logger: { debug: (m) => logger.debug(m), info: (m) => logger.info(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
  });
}
