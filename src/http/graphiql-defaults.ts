import type { Config } from '../config';
import type { GraphiqlPageOptions } from './graphiql';

export const EXAMPLE_QUERY = `# The contact and reservation register.
#
# 1. Put the agency token printed at start-up (or one from
#    \`npm run -s token -- agency\`) in the Headers tab below:
#    { "Authorization": "Bearer eyJ..." }
# 2. Press the run button. In development the variables hold 1000 ids
#    from the synthetic population, a few of them not registered.
query LookUpPeople($ids: [String!]!) {
  persons(ids: $ids) {
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
  }
}
`;

/** What GraphiQL opens with. Sample ids are offered in development only, and only synthetic ones. */
export function graphiqlDefaults(config: Config, sampleIds: readonly string[]): GraphiqlPageOptions {
  return {
    endpoint: '/graphql',
    defaultQuery: EXAMPLE_QUERY,
    // Empty until the user pastes a token: an empty header counts as no header, so the
    // schema still loads (introspection needs no token).
    defaultHeaders: JSON.stringify({ Authorization: '' }, null, 2),
    variables: config.env === 'development' && sampleIds.length > 0 ? JSON.stringify({ ids: sampleIds }, null, 2) : undefined,
  };
}
