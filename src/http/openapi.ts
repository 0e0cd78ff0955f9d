/**
 * The OpenAPI 3.1 description of the REST API (`GET /rest/openapi.json`) and a browsable
 * page for it (`GET /rest/docs`): Swagger UI served from the `swagger-ui-dist` package, so
 * it works on a network without internet (no CDN). test/http/openapi.test.ts checks real
 * answers of every endpoint against this document: a field added to one and not the other
 * fails there.
 */
import express, { type Router } from 'express';
import path from 'node:path';
import { ErrorCode } from '../errors';
import { HTTP_STATUS } from './client-errors';
import { Scope, UserScope } from '../auth/scopes';

export const SWAGGER_UI_ASSET_PATH = '/docs/assets';

const timestamp = { type: 'string', format: 'date-time', description: 'ISO 8601 in UTC with milliseconds, e.g. 2023-08-05T10:45:15.768Z' };
const yesNo = { type: 'string', enum: ['JA', 'NEI'] };

function channel(name: string, address: Record<string, unknown>) {
  return {
    [name]: address,
    [`${name}_oppdatert`]: { ...timestamp, description: 'Last changed by the citizen' },
    [`${name}_sist_verifisert`]: { ...timestamp, description: 'Last confirmed by the citizen as still right' },
    [`${name}_sist_validert`]: { ...timestamp, description: 'Last proven with a one-time code' },
    [`${name}_duplisert`]: { ...yesNo, description: 'Whether another person in the register has the same address' },
  };
}

const error = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', description: 'Stable; clients branch on it', examples: [ErrorCode.BAD_USER_INPUT, ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN] },
        message: { type: 'string', description: 'For people; identity numbers masked' },
      },
    },
  },
};

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
/** The REST API's refusals, by the status HTTP_STATUS gives their codes. */
const ERRORS = {
  [HTTP_STATUS.BAD_USER_INPUT]: errorResponse('The body is not what the endpoint takes (BAD_USER_INPUT, BAD_REQUEST)'),
  [HTTP_STATUS.UNAUTHENTICATED]: errorResponse('No token, or one that does not verify (UNAUTHENTICATED; WWW-Authenticate: Bearer)'),
  [HTTP_STATUS.FORBIDDEN]: errorResponse('The token is of the wrong kind or lacks the scope (FORBIDDEN)'),
  [HTTP_STATUS.METHOD_NOT_ALLOWED]: errorResponse('Another method (METHOD_NOT_ALLOWED; Allow lists the methods)'),
  [HTTP_STATUS.PAYLOAD_TOO_LARGE]: errorResponse('The body is too large (PAYLOAD_TOO_LARGE)'),
  // The body parser's own status for a Content-Encoding or charset it cannot read.
  '415': errorResponse('The body is in an encoding or charset the server cannot read (BAD_REQUEST)'),
  [HTTP_STATUS.RATE_LIMITED]: errorResponse('Over the rate limit (RATE_LIMITED; Retry-After)'),
  [HTTP_STATUS.INTERNAL_SERVER_ERROR]: errorResponse('A fault of ours (INTERNAL_SERVER_ERROR, with an error id to quote)'),
};

/** JSON, or a compact JWS of the same JSON bytes with `Accept: application/jose`. */
const signable = (schema: string, description: string) => ({
  description,
  headers: { Vary: { schema: { type: 'string', const: 'Accept' } } },
  content: {
    'application/json': { schema: { $ref: `#/components/schemas/${schema}` } },
    'application/jose': {
      schema: {
        type: 'string',
        pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
        description: `A compact JWS (ES256 or RS256, with kid) whose payload is exactly the application/json answer (${schema}). Verify it with the keys at /.well-known/jwks.json.`,
      },
    },
  },
});

const agencySecurity = (scopes: string[]) => [{ maskinporten: scopes }];
const LOOKUP_DESCRIPTION = `Which fields come back is decided by the token's scopes alone: identifier, status and reservation always; ${Scope.CONTACT_INFO} adds contact information, notification status and language; ${Scope.DIGITAL_POST} adds the digital mailbox and certificate. Every person looked up is recorded in the lookup audit log with the agency (consumer) and, for a delegated token, the vendor (supplier).`;

const personIds = { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', pattern: '^\\d{11}$' }, description: '1 to 1000 identity numbers (11 digits, valid check digits)' };

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'krr-graphql: the register\u2019s REST API',
      version: '1',
      description:
        'The REST API of the real contact and reservation register (KRR), for clients written against it. Agencies authenticate with Maskinporten tokens (delegated tokens carry consumer and supplier), citizens with ID-porten tokens. See docs/api.md.',
    },
    servers: [{ url: '/' }],
    paths: {
      '/rest/v1/personer': {
        post: {
          summary: 'Look people up (v1): every id answered, people not in the register as IKKE_REGISTRERT',
          description: LOOKUP_DESCRIPTION,
          security: agencySecurity([]),
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PersonerRequestV1' } } } },
          responses: { '200': signable('Personer', 'One person per id, in the order asked'), ...ERRORS },
        },
      },
      '/rest/v2/personer': {
        post: {
          summary: 'Look people up (v2)',
          description: `${LOOKUP_DESCRIPTION} People not in the register are left out unless inkluderIkkeRegistrerte is true.`,
          security: agencySecurity([]),
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PersonerRequestV2' } } } },
          responses: { '200': signable('Personer', 'The people asked for, in the order asked'), ...ERRORS },
        },
      },
      '/rest/v2/krr/hentEndringer': {
        post: {
          summary: 'The change feed: persons changed from fraEndringsId on, each in its current state',
          description: `Needs ${Scope.CHANGE_FEED}; the other scopes decide the fields as for a lookup. Page on with fraEndringsId = tilEndringsId + 1 while tilEndringsId < sisteEndringsId.`,
          security: agencySecurity([Scope.CHANGE_FEED]),
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/EndringerRequest' } } } },
          responses: { '200': signable('Endringer', 'One page of changes'), ...ERRORS },
        },
      },
      '/rest/v1/person': {
        get: {
          summary: 'The caller\u2019s own entry (citizen, ID-porten token), unwrapped',
          description: `Identifier, status and reservation always; ${UserScope.CONTACT_INFO} adds contact information, notification status and language; ${UserScope.DIGITAL_POST} adds mailbox and certificate. The entry is always the token's pid.`,
          security: [{ idporten: [] }],
          responses: { '200': { description: 'The entry', content: { 'application/json': { schema: { $ref: '#/components/schemas/Person' } } } }, ...ERRORS },
        },
        patch: {
          summary: 'Change the caller\u2019s own language',
          description: `Needs ${UserScope.LANGUAGE_WRITE}. Answers the entry as GET does.`,
          security: [{ idporten: [UserScope.LANGUAGE_WRITE] }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/SpraakRequest' } } } },
          responses: { '200': { description: 'The entry after the change', content: { 'application/json': { schema: { $ref: '#/components/schemas/Person' } } } }, ...ERRORS },
        },
      },
      '/.well-known/jwks.json': {
        get: {
          summary: 'The public keys of signed answers (JWK set)',
          description: 'The first key signs new answers; the others are retired keys, kept so that answers agencies stored can still be verified.',
          security: [],
          responses: { '200': { description: 'JWK set', content: { 'application/json': { schema: { $ref: '#/components/schemas/Jwks' } } } } },
        },
      },
      '/rest/openapi.json': {
        get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } },
      },
    },
    components: {
      securitySchemes: {
        maskinporten: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Maskinporten token: scope, consumer and, for a vendor acting for the agency, supplier' },
        idporten: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'ID-porten token: pid, acr (substantial or high) and scope (krr:user/...)' },
      },
      schemas: {
        Error: error,
        PersonerRequestV1: { type: 'object', required: ['personidentifikatorer'], properties: { personidentifikatorer: personIds } },
        PersonerRequestV2: {
          type: 'object',
          required: ['personidentifikatorer'],
          properties: {
            personidentifikatorer: personIds,
            inkluderIkkeRegistrerte: { type: 'boolean', default: false, description: 'true: people not in the register are answered with status IKKE_REGISTRERT; false or absent: left out' },
          },
        },
        EndringerRequest: {
          type: 'object',
          required: ['fraEndringsId'],
          properties: {
            fraEndringsId: { type: 'integer', minimum: 0, description: 'The first change number wanted (inclusive)' },
            antall: { type: 'integer', minimum: 1, maximum: 1000, default: 1000, description: 'Persons per page' },
          },
        },
        SpraakRequest: { type: 'object', required: ['spraak'], additionalProperties: false, properties: { spraak: { type: 'string', enum: ['nb', 'nn', 'en', 'se'] } } },
        Personer: { type: 'object', required: ['personer'], additionalProperties: false, properties: { personer: { type: 'array', items: { $ref: '#/components/schemas/Person' } } } },
        Endringer: {
          type: 'object',
          required: ['fraEndringsId', 'tilEndringsId', 'sisteEndringsId', 'list'],
          additionalProperties: false,
          properties: {
            fraEndringsId: { type: 'integer' },
            tilEndringsId: { type: 'integer', description: 'The last change number in this page (sisteEndringsId when the page is empty)' },
            sisteEndringsId: { type: 'integer', description: 'The newest change number in the register' },
            list: { type: 'array', items: { $ref: '#/components/schemas/Person' }, description: 'A person may appear more than once' },
          },
        },
        Person: {
          type: 'object',
          required: ['personidentifikator', 'status'],
          additionalProperties: false,
          description: 'A field the token has no scope for is left out; so is an absent value.',
          properties: {
            personidentifikator: { type: 'string', pattern: '^\\d{11}$' },
            reservasjon: yesNo,
            reservasjonstidspunkt: timestamp,
            reservasjon_oppdatert: timestamp,
            status: { type: 'string', enum: ['AKTIV', 'SLETTET', 'IKKE_REGISTRERT'] },
            varslingsstatus: { type: 'string', enum: ['KAN_VARSLES', 'KAN_IKKE_VARSLES'] },
            kontaktinformasjon: {
              type: 'object',
              additionalProperties: false,
              properties: {
                ...channel('epostadresse', { type: 'string', format: 'email' }),
                ...channel('mobiltelefonnummer', { type: 'string', pattern: '^\\+47[49]\\d{7}$', description: 'E.164' }),
              },
            },
            digital_post: {
              type: 'object',
              additionalProperties: false,
              properties: {
                postkasseadresse: { type: 'string' },
                postkasseleverandoeradresse: { type: 'string', pattern: '^\\d{9}$', description: 'The mailbox provider\u2019s organisation number' },
              },
            },
            sertifikat: { type: 'string', contentEncoding: 'base64', description: 'The mailbox provider\u2019s X.509 certificate' },
            spraak: { type: 'string', enum: ['nb', 'nn', 'en', 'se'] },
            spraak_oppdatert: timestamp,
          },
        },
        Jwks: {
          type: 'object',
          required: ['keys'],
          properties: {
            keys: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['kty', 'kid', 'alg', 'use'],
                properties: { kty: { enum: ['EC', 'RSA'] }, kid: { type: 'string' }, alg: { enum: ['ES256', 'RS256'] }, use: { const: 'sig' } },
                not: { anyOf: [{ required: ['d'] }, { required: ['p'] }, { required: ['q'] }] },
              },
            },
          },
        },
      },
    },
  };
}

/** No inline script (a strict Content-Security-Policy may forbid it): the set-up is a file of its own. */
export function openApiPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>krr-graphql REST API</title>
<link rel="stylesheet" href="/rest${SWAGGER_UI_ASSET_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/rest${SWAGGER_UI_ASSET_PATH}/swagger-ui-bundle.js"></script>
<script src="/rest${SWAGGER_UI_ASSET_PATH}/init.js"></script>
</body>
</html>
`;
}

// validatorUrl null: Swagger UI would otherwise send the document's address to
// validator.swagger.io for a badge whenever the service is not on localhost.
const INIT_JS = `window.ui = SwaggerUIBundle({ url: '/rest/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });\n`;

/** Swagger UI's own files, from node_modules, plus the page's set-up script. */
export function swaggerUiAssets(): Router {
  const router = express.Router();
  router.get('/init.js', (_req, res) => void res.type('text/javascript').send(INIT_JS));
  const dir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  router.use(express.static(dir, { index: false, maxAge: '1h' }));
  return router;
}
