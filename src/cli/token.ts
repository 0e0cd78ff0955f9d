/**
 * `npm run -s token -- agency [--org 991825827] [--supplier ORGNR] [--scope SCOPE ...] [--ttl SECONDS]`
 * `npm run -s token -- citizen --pid IDENTITY_NUMBER [--scope krr:user/...] [--ttl SECONDS]`
 *
 * Mints a token with the development signing key (data/dev-signing-key.json). Prints the
 * token alone on stdout. Refuses when the service is configured with real issuers.
 */
import { parseArgs } from 'node:util';
import { ALL_SCOPES } from '../auth/scopes';
import { loadOrCreateDevKey } from '../auth/keys';
import { mintDevToken } from '../auth/tokens';
import { loadConfig } from '../config';
import { isValidIdentityNumber } from '../domain/identity-number';

const USAGE = `usage:
  npm run -s token -- agency [--org 991825827] [--supplier ORGNR] [--scope SCOPE]... [--ttl SECONDS]
  npm run -s token -- citizen --pid IDENTITY_NUMBER [--scope krr:user/...]... [--ttl SECONDS]
Agency scopes default to all of: ${ALL_SCOPES.join(' ')}
--supplier: a vendor acting for the agency (delegation: the token's supplier claim).
A citizen token without --scope is the self-service login (all of the citizen's own entry).
--ttl defaults to the longest lifetime the service accepts (KRR_MAX_TOKEN_LIFETIME_SECONDS, 7200 unless set)`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      org: { type: 'string', default: '991825827' },
      supplier: { type: 'string' },
      scope: { type: 'string', multiple: true },
      pid: { type: 'string' },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return USAGE;
  const kind = positionals[0];
  const config = loadConfig();
  if (config.auth.mode !== 'development') {
    throw new UsageError('the service is configured with real token issuers (KRR_*_ISSUER); get tokens from them, not from this command');
  }
  const max = config.auth.maxTokenLifetimeSeconds;
  const ttl = values.ttl === undefined ? max : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > max) {
    throw new UsageError(`--ttl must be a whole number of seconds from 1 to ${max} (the service refuses longer-lived tokens: KRR_MAX_TOKEN_LIFETIME_SECONDS)`);
  }
  const key = await loadOrCreateDevKey(config.auth.keyFile);
  if (kind === 'agency') {
    if (!/^\d{9}$/.test(values.org)) throw new UsageError('--org must be a 9-digit organisation number');
    if (values.supplier !== undefined && !/^\d{9}$/.test(values.supplier)) throw new UsageError('--supplier must be a 9-digit organisation number');
    return mintDevToken(config.auth, key, { agency: { orgNumber: values.org, scopes: values.scope ?? ALL_SCOPES, supplierOrgNumber: values.supplier } }, ttl);
  }
  if (kind === 'citizen') {
    if (!values.pid || !isValidIdentityNumber(values.pid)) throw new UsageError('--pid must be a valid identity number');
    if (values.scope?.some((s) => !s.startsWith('krr:user/'))) throw new UsageError('a citizen token\u2019s --scope must be krr:user/... scopes');
    return mintDevToken(config.auth, key, { citizen: { pid: values.pid, scopes: values.scope } }, ttl);
  }
  throw new UsageError(kind ? `unknown token kind "${kind}"` : 'say which kind of token: agency or citizen');
}

main(process.argv.slice(2)).then(
  (out) => process.stdout.write(`${out}\n`),
  (error) => {
    process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  },
);
