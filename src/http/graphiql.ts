import express, { type Router } from 'express';
import path from 'node:path';

/**
 * GraphiQL served from the packages in node_modules: no CDN, so it works on a machine or
 * network without internet. The page has no inline script; its settings travel as JSON.
 */
const ASSETS: Record<string, string> = {
  'graphiql.min.js': require.resolve('graphiql/graphiql.min.js'),
  'graphiql.min.css': require.resolve('graphiql/graphiql.min.css'),
  'react.production.min.js': path.join(path.dirname(require.resolve('react/package.json')), 'umd/react.production.min.js'),
  'react-dom.production.min.js': path.join(path.dirname(require.resolve('react-dom/package.json')), 'umd/react-dom.production.min.js'),
};

export const GRAPHIQL_ASSET_PATH = '/graphiql';

/**
 * Tabs: GraphiQL opens with `tabs` on a first visit and restores its own tabs afterwards
 * (queries and variables, never headers: `shouldPersistHeaders: false`); a tab without
 * headers gets `defaultHeaders`. With development tokens the sidebar gets a switch that
 * puts one of them in the current tab's headers.
 */
const INIT_SCRIPT = `(function () {
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var h = React.createElement;
  function KeyIcon() {
    return h('svg', { viewBox: '0 0 24 24', width: '1em', height: '1em', fill: 'none', stroke: 'currentColor', strokeWidth: 1.5, 'aria-hidden': 'true' },
      h('circle', { cx: 8, cy: 15, r: 4 }),
      h('path', { d: 'M11 12l9-9m-4 4l3 3m-6 0l2 2' }));
  }
  function TokenSwitch() {
    var editors = GraphiQL.React.useEditorContext({ nonNull: true });
    return h('div', { className: 'krr-token-switch' },
      h('div', { className: 'graphiql-doc-explorer-title' }, 'Development tokens'),
      h('p', null, 'Signed with this service\u2019s development key, valid 12 hours from start-up. A button puts its Authorization header in the tab you are on.'),
      config.tokens.map(function (token) {
        return h('button', {
          key: token.label,
          type: 'button',
          className: 'graphiql-button',
          style: { display: 'block', width: '100%', margin: '8px 0', textAlign: 'left' },
          onClick: function () { if (editors.headerEditor) editors.headerEditor.setValue(token.headers); }
        }, token.label);
      }));
  }
  var plugins = config.tokens.length > 0 ? [{ title: 'Development tokens', icon: KeyIcon, content: TokenSwitch }] : [];
  // GraphiQL 3 fills the first tab's editors from defaultTabs except the variables: give them
  // on a first visit only (later visits restore the tabs GraphiQL kept, variables included).
  var firstVisit = true;
  try { firstVisit = !window.localStorage.getItem('graphiql:tabState'); } catch (e) { /* storage off: every visit is a first */ }
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    h(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: config.endpoint }),
      defaultTabs: config.tabs,
      variables: firstVisit ? config.tabs[0].variables : undefined,
      defaultQuery: config.tabs[0].query,
      defaultHeaders: config.defaultHeaders,
      shouldPersistHeaders: false,
      plugins: plugins,
      defaultEditorToolsVisibility: config.tokens.length === 0 && config.tabs[0].variables ? 'variables' : 'headers'
    })
  );
})();
`;

export interface GraphiqlTab {
  query: string;
  /** JSON text for the variables editor, if any. */
  variables?: string;
  /** JSON text for the headers editor. */
  headers: string;
}

export interface GraphiqlPageOptions {
  endpoint: string;
  /** The tabs of a first visit. */
  tabs: GraphiqlTab[];
  /** Headers of a tab that has none of its own (new tabs, tabs restored from an earlier visit). */
  defaultHeaders: string;
  /** Development only: headers the sidebar switch offers. Empty: no switch. */
  tokens: { label: string; headers: string }[];
}

/** JSON that is safe inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

export function graphiqlPage(options: GraphiqlPageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KRR register · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${GRAPHIQL_ASSET_PATH}/graphiql.min.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="graphiql-config">${scriptJson(options)}</script>
<script src="${GRAPHIQL_ASSET_PATH}/react.production.min.js"></script>
<script src="${GRAPHIQL_ASSET_PATH}/react-dom.production.min.js"></script>
<script src="${GRAPHIQL_ASSET_PATH}/graphiql.min.js"></script>
<script src="${GRAPHIQL_ASSET_PATH}/init.js"></script>
</body>
</html>
`;
}

export function graphiqlAssets(): Router {
  const router = express.Router();
  router.get('/init.js', (_req, res) => {
    res.type('application/javascript').set('cache-control', 'no-cache').send(INIT_SCRIPT);
  });
  for (const [name, file] of Object.entries(ASSETS)) {
    router.get(`/${name}`, (_req, res) => {
      res.set('cache-control', 'public, max-age=86400').sendFile(file);
    });
  }
  return router;
}
