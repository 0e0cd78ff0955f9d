/**
 * KRR_DATABASE_READ_URL: agencies' lookups are read from a read replica, citizens read the
 * primary (their own writes), and every write goes to the primary.
 *
 * A real streaming replica: this test starts a throwaway PostgreSQL of its own (never the
 * one the other test files share), makes a hot standby of it with `pg_basebackup -R`, and
 * pauses the standby's WAL replay so the two differ for certain. Runs in jest's `postgres`
 * project; skipped without PostgreSQL, except under CI=true, where it fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import pg from 'pg';
import { loadOrCreateDevKey } from '../../src/auth/keys';
import { mintDevToken } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { projectRoot } from '../../src/paths';
import { LookUpPersonReservationDocument, MyReservationDocument, TimedSetReservationDocument } from '../generated/graphql';
import { requestBody } from '../support/operations';
import { syntheticIds } from '../support/people';
import { describeWithPostgres } from '../support/postgres';
import { killAllServices, startService, type RunningService } from '../support/service';

const CLUSTER = path.join(projectRoot, 'scripts', 'pg-cluster.sh');
const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL program as the user that owns the clusters (postgres when we are root). */
function asOwner(program: string, args: string[]): string {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN, program), ...args]] : [path.join(PG_BIN, program), args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

const clusterUrl = (dir: string) => execFileSync(CLUSTER, ['start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim().split('\n').pop()!.replace(/^KRR_DATABASE_URL=/, '');

async function sql<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeWithPostgres('a read replica (KRR_DATABASE_READ_URL)', () => {
  const primaryDir = mkdtempSync(path.join(os.tmpdir(), 'krr-pg-primary-'));
  const standbyDir = mkdtempSync(path.join(os.tmpdir(), 'krr-pg-standby-'));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'krr-replica-test-'));
  let primary: string;
  let standby: string;
  let service: RunningService;
  const [citizenId] = syntheticIds(1, 5151);

  beforeAll(async () => {
    primary = clusterUrl(primaryDir);
    const port = new URL(primary).port;
    // The standby's folder: made by pg_basebackup, started by the same script (which
    // finds a data folder there and starts it on a port of its own).
    writeFileSync(path.join(standbyDir, '.krr-pg-cluster'), '');
    if (asRoot) execFileSync('chown', ['-R', 'postgres:', standbyDir]);
    asOwner('pg_basebackup', ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-D', path.join(standbyDir, 'data'), '-R', '-X', 'stream', '--checkpoint=fast', '--no-sync']);
    standby = clusterUrl(standbyDir);
    expect((await sql<{ r: boolean }>(standby, 'select pg_is_in_recovery() r'))[0].r).toBe(true);

    service = await startService(
      { KRR_DATA_DIR: dataDir, KRR_DATABASE_URL: primary, KRR_DATABASE_READ_URL: standby, KRR_SEED_COUNT: '50', LOG_LEVEL: 'info' },
      60_000,
    );
  }, 180_000);

  afterAll(async () => {
    killAllServices();
    for (const dir of [standbyDir, primaryDir]) {
      try {
        execFileSync(CLUSTER, ['stop', dir, '--remove'], { stdio: 'ignore', timeout: 60_000 });
      } catch {
        // Best effort: a cluster that did not start has nothing to stop.
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  const post = async <TData, TVars>(token: string, document: TypedDocumentNode<TData, TVars>, variables: TVars) => {
    const res = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(requestBody(document, variables)),
    });
    return (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
  };
  const agencyReserved = async () => {
    const { data, errors } = await post(service.token, LookUpPersonReservationDocument, { id: citizenId });
    expect(errors).toBeUndefined();
    return data.person as { status: string; reservation: { reserved: boolean } | null };
  };

  it('serves agencies from the replica and citizens from the primary, and writes only to the primary', async () => {
    mkdirSync(dataDir, { recursive: true });
    const config = loadConfig({ KRR_DATA_DIR: dataDir });
    if (config.auth.mode !== 'development') throw new Error('needs development tokens');
    const citizen = await mintDevToken(config.auth, await loadOrCreateDevKey(config.auth.keyFile), { citizen: { pid: citizenId } });

    // The seed reached the replica; then its replay stops, so the two differ from here on.
    await until('the standby to catch up', async () => (await sql<{ n: number }>(standby, 'select count(*)::int n from person'))[0].n === 50);
    await sql(standby, 'select pg_wal_replay_pause()');
    await until('replay to pause', async () => (await sql<{ s: string }>(standby, 'select pg_get_wal_replay_pause_state() s'))[0].s === 'paused');

    const written = await post(citizen, TimedSetReservationDocument, { reserved: true });
    expect(written.errors).toBeUndefined();
    // The citizen reads their own write at once (the primary) ...
    expect(written.data.setReservation.reservation).toEqual({ reserved: true });
    expect((await post(citizen, MyReservationDocument, {})).data.me.reservation).toEqual({ reserved: true });
    expect((await sql<{ reserved: boolean }>(primary, 'select reserved from person where id = $1', [citizenId]))[0].reserved).toBe(true);
    // ... while an agency's lookup comes from the paused replica, where the person is not there yet.
    expect(await agencyReserved()).toEqual({ status: 'NOT_REGISTERED', reservation: null });
    // The lookup's audit row was written, on the primary.
    expect((await sql<{ n: number }>(primary, 'select count(*)::int n from lookup_audit where person_id = $1', [citizenId]))[0].n).toBe(1);

    await sql(standby, 'select pg_wal_replay_resume()');
    await until('the replica to show the reservation', async () => (await agencyReserved()).reservation?.reserved === true);
  });

  it('is unready while the replica is away, and ready again when it is back', async () => {
    const ready = async () => (await fetch(`${service.base}/readyz`)).status;
    expect(await ready()).toBe(200);
    const data = path.join(standbyDir, 'data');
    asOwner('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w']);
    try {
      await until('/readyz to turn 503', async () => (await ready()) === 503);
    } finally {
      // Back on the same port, as pg-cluster.sh started it.
      const port = new URL(standby).port;
      asOwner('pg_ctl', ['start', '-D', data, '-w', '-l', path.join(standbyDir, 'postgres.log'), '-o', `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories='${standbyDir}'`]);
    }
    await until('/readyz to turn 200 again', async () => (await ready()) === 200);
    expect((await agencyReserved()).reservation).toEqual({ reserved: true });
  });
});
