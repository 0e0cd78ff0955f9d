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

const INIT_SCRIPT = `(function () {
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var fetcher = GraphiQL.createFetcher({ url: config.endpoint });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      variables: config.variables,
      defaultHeaders: config.defaultHeaders,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: config.variables ? 'variables' : 'headers'
    })
  );
})();
`;

export interface GraphiqlPageOptions {
  endpoint: string;
  defaultQuery: string;
  defaultHeaders: string;
  /** JSON text for the variables editor, if any. */
  variables?: string;
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
