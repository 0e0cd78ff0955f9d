import type { Config } from '../config';
import type { GraphiqlPageOptions, GraphiqlTab } from './graphiql';

const LOOKUP_SELECTION = `persons(ids: $ids) {
    id
    status
    reservation { reserved reservedAt }
    notificationStatus
    contactInfo {
      email { address updatedAt lastVerifiedAt duplicated usableForNotification }
      mobile { number updatedAt lastVerifiedAt duplicated usableForNotification }
    }
    digitalMailbox { address providerOrgNumber }
    language
    updatedAt
  }`;

const HOW_TO_ADD_A_TOKEN = `# 1. Put the agency token printed at start-up (or one from
#    \`npm run -s token -- agency\`) in the Headers tab below:
#    { "Authorization": "Bearer eyJ..." }
# 2. Press the run button. In development the variables hold 1000 ids
#    from the synthetic population, a few of them not registered.`;

const TOKEN_PRESET = `# Development mode: the Headers tab below already holds an agency token
# (all scopes, organisation 991825827), the one printed at start-up.
# Press the run button: the variables hold 1000 ids from the synthetic
# population, a few of them not registered.
#
# The second tab is signed in as a citizen, to try the mutations. The key
# button in the left sidebar puts either token in the tab you are on.`;

const lookupQuery = (intro: string) => `# The contact and reservation register.
#
${intro}
query LookUpPeople($ids: [String!]!) {
  ${LOOKUP_SELECTION}
}
`;

/** The lookup tab's query when no token is preset (production, or issuers of one's own). */
export const EXAMPLE_QUERY = lookupQuery(HOW_TO_ADD_A_TOKEN);

const citizenQuery = (pid: string, outboxFile: string) => `# Signed in as the synthetic citizen ${pid}: a development
# ID-porten token is in the Headers tab. (GraphiQL keeps tabs across
# reloads but not their headers, and then gives every tab the agency
# token: the key button in the left sidebar puts the citizen's back.)
# A citizen reads and changes their own entry only. Pick an operation
# from the run button's menu:
#
# 1. Me: your entry, and who has looked you up.
# 2. SetEmail: saves a new email address and sends a one-time code to it.
#    In development the message is appended to ${outboxFile}
# 3. VerifyEmail: put that code in the variables below, then run it.
query Me {
  me {
    id
    status
    reservation { reserved reservedAt }
    notificationStatus
    contactInfo {
      email { address updatedAt lastVerifiedAt lastValidatedAt usableForNotification }
      mobile { number updatedAt lastVerifiedAt lastValidatedAt usableForNotification }
    }
    language
    lookups(first: 5) { totalCount edges { node { agencyOrgNumber lookedUpAt scopes } } }
  }
}

mutation SetEmail {
  updateContactInfo(input: { email: "kari.nordmann@example.org" }) {
    status
    contactInfo { email { address updatedAt lastValidatedAt } }
  }
}

mutation VerifyEmail($code: String!) {
  verifyContact(channel: EMAIL, code: $code) {
    contactInfo { email { address lastValidatedAt } }
  }
}
`;

/** Tokens `main.ts` mints with the development key, for GraphiQL to open with. */
export interface DevTokens {
  agency: string;
  citizen?: { pid: string; token: string };
}

const authorization = (token: string) => JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);

/**
 * What GraphiQL opens with. Sample ids are offered in development only, and only synthetic
 * ones. Tokens are put in the page only in development with the development key: a
 * production page never holds one, whatever is passed.
 */
export function graphiqlDefaults(config: Config, sampleIds: readonly string[], tokens?: DevTokens): GraphiqlPageOptions {
  const development = config.env === 'development';
  const variables = development && sampleIds.length > 0 ? JSON.stringify({ ids: sampleIds }, null, 2) : undefined;
  const preset = development && config.auth.mode === 'development' ? tokens : undefined;
  if (!preset) {
    // An empty header counts as no header, so the schema still loads (introspection needs no token).
    const headers = JSON.stringify({ Authorization: '' }, null, 2);
    return { endpoint: '/graphql', tabs: [{ query: EXAMPLE_QUERY, variables, headers }], defaultHeaders: headers, tokens: [] };
  }
  const agency = authorization(preset.agency);
  const tabs: GraphiqlTab[] = [{ query: lookupQuery(TOKEN_PRESET), variables, headers: agency }];
  const switches = [{ label: 'Agency: all scopes, organisation 991825827', headers: agency }];
  if (preset.citizen) {
    const citizen = authorization(preset.citizen.token);
    tabs.push({ query: citizenQuery(preset.citizen.pid, config.outboxFile), variables: JSON.stringify({ code: '' }, null, 2), headers: citizen });
    switches.push({ label: `Citizen ${preset.citizen.pid}`, headers: citizen });
  }
  // A tab without headers of its own (a new one, or one restored from an earlier visit:
  // GraphiQL keeps tabs but never headers) gets the agency token.
  return { endpoint: '/graphql', tabs, defaultHeaders: agency, tokens: switches };
}
