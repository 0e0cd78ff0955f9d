// Jest global setup (plain JavaScript: it runs before any transform is set up).
//
// The `postgres` project runs the store-agnostic suites a second time with the register on
// PostgreSQL. It needs a server. In order:
//   1. KRR_TEST_POSTGRES_URL (or else a postgres:// KRR_DATABASE_URL), when set: a server
//      you started (its user needs CREATEDB);
//   2. else a throwaway PostgreSQL 15 cluster started here with scripts/pg-cluster.sh into a
//      temporary folder, and stopped and removed by global-teardown.js;
//   3. else (no Debian postgresql on this machine) the postgres project's suites skip, saying
//      so, except under CI=true, where that fails the run.
// Every test database is a scratch database on that server, dropped when its test file ends.
// KRR_DATABASE_URL itself is taken out of the environment here, so a test service can never
// land on a database it was not given.
const { execFileSync } = require('node:child_process');
const { existsSync, mkdtempSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const pgBin = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';

module.exports = async function globalSetup(globalConfig) {
  const given = process.env.KRR_DATABASE_URL;
  if (!process.env.KRR_TEST_POSTGRES_URL && /^postgres(ql)?:\/\//.test(given ?? '')) process.env.KRR_TEST_POSTGRES_URL = given;
  delete process.env.KRR_DATABASE_URL;
  const projects = (globalConfig.selectProjects ?? ['sqlite', 'postgres']);
  if (!projects.includes('postgres')) return;
  if (process.env.KRR_TEST_POSTGRES_URL) return;
  if (!existsSync(path.join(pgBin, 'initdb'))) {
    process.env.KRR_TEST_POSTGRES_MISSING = `no PostgreSQL 15 in ${pgBin} (Debian: apt-get install postgresql)`;
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-pg-'));
  let out;
  try {
    out = execFileSync(path.join(root, 'scripts', 'pg-cluster.sh'), ['start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (error) {
    throw new Error(`could not start a throwaway PostgreSQL for the postgres project: ${error.stderr || error.message}`);
  }
  const url = out.trim().split('\n').pop().replace(/^KRR_DATABASE_URL=/, '');
  process.env.KRR_TEST_POSTGRES_URL = url;
  process.env.KRR_TEST_POSTGRES_CLUSTER = dir;
};
