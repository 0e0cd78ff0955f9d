// Stops and removes the throwaway PostgreSQL cluster global-setup.js started, if it did.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalTeardown() {
  const dir = process.env.KRR_TEST_POSTGRES_CLUSTER;
  if (!dir) return;
  execFileSync(path.resolve(__dirname, '..', '..', 'scripts', 'pg-cluster.sh'), ['stop', dir, '--remove'], { stdio: 'ignore', timeout: 60_000 });
};
