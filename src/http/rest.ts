/**
 * The register's own REST API for clients written against the real register: the lookups
 * (`POST /rest/v1/personer`, `POST /rest/v2/personer`), the change feed
 * (`POST /rest/v2/krr/hentEndringer`) and the citizen's own entry (`GET`/`PATCH
 * /rest/v1/person`). Each request runs one fixed GraphQL operation through the same Apollo
 * server with the same context as `/graphql`, so token checks, scope rules, limits,
 * DataLoaders and the lookup audit log are GraphQL's own; this file only reads the
 * register's request shape and writes GraphQL's answer in the register's JSON
 * (`formatRegisterPerson`), signed when asked for (`Accept: application/jose`).
 */
import type { ApolloServer } from '@apollo/server';
import express, { type Request, type Response, type Router } from 'express';
import { parse, type DocumentNode } from 'graphql';
import { badUserInput, ErrorCode, forbidden, unauthenticated } from '../errors';
import type { Context } from '../graphql/context';
import type { Logger } from '../logger';
import { formatRegisterPerson, LANGUAGE, REGISTER_PERSON_SELECTION } from '../register/register-format';
import { answeredRefusal, httpRefusalOf, sendRestRefusal } from './client-errors';
import { jsonBody } from './json-body';
import { notFound, route } from './json-errors';
import { openApiDocument, openApiPage, SWAGGER_UI_ASSET_PATH, swaggerUiAssets } from './openapi';
import { JOSE_MEDIA_TYPE, type AnswerSigner } from './signing';

export interface RestDeps {
  apollo: ApolloServer<Context>;
  /** The server's own, so a REST request is authenticated (and rate limited) like a GraphQL one. */
  createContext(authorization: string | undefined, clientIp?: string): Promise<Context>;
  logger: Logger;
  /** Signs the lookups' answers for `Accept: application/jose`. */
  signer: AnswerSigner;
  maxBodyBytes?: number;
}

const PERSONER = parse(`query RegisterPersons($ids: [String!]!) { persons(ids: $ids) ${REGISTER_PERSON_SELECTION} }`);
const ENDRINGER = parse(
  `query RegisterChanges($after: Int!, $first: Int) { changes(after: $after, first: $first) { lastChangeNumber latestChangeNumber entries { person ${REGISTER_PERSON_SELECTION} } } }`,
);

const ME = parse(`query RegisterMe { me ${REGISTER_PERSON_SELECTION} }`);
const SET_LANGUAGE = parse(`mutation RegisterSetLanguage($language: Language!) { setLanguage(language: $language) ${REGISTER_PERSON_SELECTION} }`);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * The caller's context, before the body is looked at: a bad or missing token is 401 whatever
 * the body holds. Every endpoint needs a token, so no token is refused at once (GraphQL
 * would refuse the field with UNAUTHENTICATED all the same).
 */
async function contextOf(deps: RestDeps, req: Request): Promise<Context> {
  const context = await deps.createContext(req.headers.authorization, req.ip);
  if (context.viewer.kind === 'anonymous') throw unauthenticated('Authentication required: send "Authorization: Bearer <token>"');
  return context;
}

/** Runs `document` as the caller and returns its data, or throws the refusal to send. */
async function execute(deps: RestDeps, contextValue: Context, document: DocumentNode, variables: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await deps.apollo.executeOperation({ query: document, variables }, { contextValue });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  const { data, errors = [] } = response.body.singleResult;
  // A field without its scope is null with FORBIDDEN at a path inside a person: the field is
  // left out of that person, as the register does. Anything else refuses the whole request.
  const refusal = errors.find((e) => !(e.extensions?.code === ErrorCode.FORBIDDEN && (e.path?.length ?? 0) > 1));
  if (refusal) throw answeredRefusal(refusal, response.http.status);
  if (!data) throw new Error('GraphQL answered neither data nor errors');
  return data;
}

/**
 * `signable`: the answer is a compact JWS of exactly the JSON it would otherwise be when the
 * client prefers `application/jose`. Refusals are never signed: they are JSON, as always.
 */
function handler(deps: RestDeps, answer: (req: Request) => Promise<unknown>, signable = false) {
  return async (req: Request, res: Response) => {
    try {
      const body = await answer(req);
      if (!signable) return void res.json(body);
      res.vary('Accept');
      if (req.accepts(['application/json', JOSE_MEDIA_TYPE]) !== JOSE_MEDIA_TYPE) return void res.json(body);
      res.type(JOSE_MEDIA_TYPE).send(await deps.signer.sign(JSON.stringify(body)));
    } catch (error) {
      sendError(deps.logger, res, error);
    }
  };
}

function sendError(logger: Logger, res: Response, error: unknown): void {
  sendRestRefusal(res, httpRefusalOf(logger, error, 'unexpected error in the REST API'));
}

/**
 * The lookup of both versions. v1 answers every id asked for (people not in the register
 * as IKKE_REGISTRERT); v2 leaves those out unless `inkluderIkkeRegistrerte` is true.
 */
function lookup(deps: RestDeps, version: 1 | 2) {
  return async (req: Request) => {
    const context = await contextOf(deps, req);
    const body: Record<string, unknown> = isObject(req.body) ? req.body : {};
    const ids = body.personidentifikatorer;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      throw badUserInput('The body must be {"personidentifikatorer": [...]}: 1 to 1000 identity numbers as strings');
    }
    let includeUnregistered = true;
    if (version === 2) {
      const flag = body.inkluderIkkeRegistrerte;
      if (flag !== undefined && typeof flag !== 'boolean') throw badUserInput('inkluderIkkeRegistrerte must be true or false');
      includeUnregistered = flag === true;
    }
    const data = await execute(deps, context, PERSONER, { ids });
    const personer = (data.persons as Record<string, unknown>[]).map(formatRegisterPerson);
    return { personer: includeUnregistered ? personer : personer.filter((p) => p.status !== 'IKKE_REGISTRERT') };
  };
}

/** The citizen's own entry: a citizen token only, whatever GraphQL would let an agency do with `me`. */
async function citizenContextOf(deps: RestDeps, req: Request): Promise<Context> {
  const context = await contextOf(deps, req);
  if (context.viewer.kind !== 'citizen') throw forbidden('/rest/v1/person is for citizens (ID-porten tokens) only');
  // The register's user API is always held to the token's user scopes: no scope, no contact
  // information (GraphQL's self-service login, a token without user scopes, sees it all).
  return { ...context, viewer: { ...context.viewer, userScopes: context.viewer.userScopes ?? new Set() } };
}

export function restRoutes(deps: RestDeps): Router {
  const router = express.Router();
  router.use(jsonBody(deps.maxBodyBytes ?? 256 * 1024));

  route(router, '/v1/personer', { post: handler(deps, lookup(deps, 1), true) });
  route(router, '/v2/personer', { post: handler(deps, lookup(deps, 2), true) });

  route(router, '/v2/krr/hentEndringer', {
    post: handler(
      deps,
      async (req) => {
        const context = await contextOf(deps, req);
        const body: Record<string, unknown> = isObject(req.body) ? req.body : {};
        const { fraEndringsId, antall } = body;
        if (!isCount(fraEndringsId)) throw badUserInput('The body must be {"fraEndringsId": N}: the first change number wanted, 0 or more');
        if (antall !== undefined && !isCount(antall)) throw badUserInput('antall must be a whole number (1 to 1000)');
        // The register counts from fraEndringsId inclusive; the GraphQL feed counts after `after`.
        const variables = { after: Math.max(fraEndringsId - 1, 0), ...(antall === undefined ? {} : { first: antall }) };
        const data = await execute(deps, context, ENDRINGER, variables);
        const page = data.changes as { lastChangeNumber: number | null; latestChangeNumber: number; entries: { person: Record<string, unknown> }[] };
        return {
          fraEndringsId,
          // An empty page, read in one snapshot with the newest number, means nothing from
          // fraEndringsId on exists yet: the consumer is up to date through sisteEndringsId.
          tilEndringsId: page.lastChangeNumber ?? page.latestChangeNumber,
          sisteEndringsId: page.latestChangeNumber,
          list: page.entries.map((entry) => formatRegisterPerson(entry.person)),
        };
      },
      true,
    ),
  });

  route(router, '/v1/person', {
    get: handler(deps, async (req) => {
      const data = await execute(deps, await citizenContextOf(deps, req), ME, {});
      return formatRegisterPerson(data.me as Record<string, unknown>);
    }),
    patch: handler(deps, async (req) => {
      const context = await citizenContextOf(deps, req);
      const body = req.body;
      const unknown = isObject(body) ? Object.keys(body).filter((k) => k !== 'spraak') : [];
      const spraak = isObject(body) ? LANGUAGE.parse(body.spraak) : null;
      if (!spraak?.ok || unknown.length > 0) {
        throw badUserInput(`The body must be {"spraak": "nb" | "nn" | "en" | "se"}${unknown.length > 0 ? `; not ${unknown.map((k) => JSON.stringify(k)).join(', ')}` : ''}`);
      }
      const data = await execute(deps, context, SET_LANGUAGE, { language: spraak.value.toUpperCase() });
      return formatRegisterPerson(data.setLanguage as Record<string, unknown>);
    }),
  });

  const document = openApiDocument();
  route(router, '/openapi.json', { get: (_req: Request, res: Response) => void res.json(document) });
  router.use(SWAGGER_UI_ASSET_PATH, swaggerUiAssets());
  route(router, '/docs', { get: (_req: Request, res: Response) => void res.type('html').send(openApiPage()) });

  router.use(notFound);
  // Unreadable JSON, a body over the limit: answered in the REST API's own error shape.
  router.use((error: unknown, _req: Request, res: Response, _next: express.NextFunction) => sendError(deps.logger, res, error));
  return router;
}
