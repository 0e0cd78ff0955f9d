import { parse, validate } from 'graphql';
import { loadConfig } from '../../src/config';
import { buildSubgraphRegisterSchema } from '../../src/graphql/subgraph';
import { graphiqlPage } from '../../src/http/graphiql';
import { graphiqlDefaults } from '../../src/http/graphiql-defaults';
import { syntheticIds } from '../support/people';
import { TEST_SIGNING_KEY_FILE } from '../support/keys';

const [pid, ...ids] = syntheticIds(4);
const tokens = { agency: 'eyJhZ2VuY3k.payload.sig', citizen: { pid, token: 'eyJjaXRpemVu.payload.sig' } };
const ISSUERS = {
  KRR_AGENCY_ISSUER: 'https://a.example/',
  KRR_AGENCY_JWKS_URI: 'https://a.example/jwks',
  KRR_CITIZEN_ISSUER: 'https://c.example/',
  KRR_CITIZEN_JWKS_URI: 'https://c.example/jwks',
  KRR_AUDIENCE: 'x',
};

describe('what GraphiQL opens with', () => {
  it('in development: the agency token in the first tab, a citizen token in the second, both in the switch', () => {
    const options = graphiqlDefaults(loadConfig({}), ids, tokens);
    expect(options.tabs.map((tab) => JSON.parse(tab.headers))).toEqual([{ Authorization: `Bearer ${tokens.agency}` }, { Authorization: `Bearer ${tokens.citizen.token}` }]);
    expect(JSON.parse(options.tabs[0].variables!)).toEqual({ ids });
    expect(options.tabs[1].query).toContain(`citizen ${pid}`);
    expect(options.defaultHeaders).toBe(options.tabs[0].headers);
    expect(options.tokens.map((t) => t.label)).toEqual(['Agency: all scopes, organisation 991825827', `Citizen ${pid}`]);
  });

  it('offers only operations the schema accepts', () => {
    const schema = buildSubgraphRegisterSchema();
    for (const tab of graphiqlDefaults(loadConfig({}), ids, tokens).tabs) expect(validate(schema, parse(tab.query))).toEqual([]);
  });

  it('never puts a token in the page in production, nor with issuers of one’s own', () => {
    const production = loadConfig({ NODE_ENV: 'production', KRR_NOTIFIER: 'outbox', KRR_GRAPHIQL: 'true', KRR_SIGNING_KEY_FILE: TEST_SIGNING_KEY_FILE, ...ISSUERS });
    const ownIssuers = loadConfig(ISSUERS);
    for (const config of [production, ownIssuers, loadConfig({ NODE_ENV: 'test' })]) {
      const options = graphiqlDefaults(config, ids, tokens);
      const page = graphiqlPage(options);
      for (const secret of [tokens.agency, tokens.citizen.token, pid]) expect(page).not.toContain(secret);
      expect(options.tokens).toEqual([]);
      expect(options.tabs.map((tab) => JSON.parse(tab.headers))).toEqual([{ Authorization: '' }]);
    }
  });
});
