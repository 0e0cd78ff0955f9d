/**
 * Follower mode on PostgreSQL with two replicas (issue 15): two copies, as processes, on one
 * PostgreSQL database, both started with KRR_UPSTREAM_URL. Exactly one follows (it holds
 * the follower lock, a session advisory lock); it is killed with SIGKILL; the other takes
 * over, catches up with the upstream's latest change number (citizens write at the
 * upstream after the kill) and answers `persons` exactly as the upstream does for every
 * person. Runs in the jest project `postgres` only (jest.config.js: POSTGRES_ONLY).
 * No timing assertions: every wait is a bounded poll for a state.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadOrCreateDevKey } from '../../src/auth/keys';
import { mintDevToken } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { SetReservationAckDocument } from '../generated/graphql';
import { storeUnderTest, type TestDatabase } from '../support/database';
import { requestBody } from '../support/operations';
import { metricOf, postJson, serviceScratch, startService, waitFor, type RunningService } from '../support/service';

const SEED_COUNT = 2500;
const WRITES_AFTER_THE_KILL = 6;
const REQUEST_TIMEOUT_MS = 60_000;
const post = (url: string, token: string, body: unknown) => postJson(url, token, body, REQUEST_TIMEOUT_MS);
const FOLLOWING = 'following the upstream register';

jest.setTimeout(600_000);


const position = (service: RunningService) => metricOf(service, 'krr_upstream_position', REQUEST_TIMEOUT_MS);



/** Sessions holding the follower lock on the copy's database (application_name krr-graphql-follower). */
const lockHolders = (db: TestDatabase) =>
  db.number(
    `select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where l.locktype = 'advisory' and l.granted and a.application_name = 'krr-graphql-follower'
       and l.database = (select oid from pg_database where datname = current_database())`,
  );

if (storeUnderTest !== 'postgres') throw new Error('follower-takeover.test.ts runs in the jest project postgres only (jest.config.js)');

describe('two copies on one PostgreSQL database (processes)', () => {
  const { folder, place } = serviceScratch('krr-takeover');

  it('exactly one follows; when it is killed the other takes over and ends with the upstream answers', async () => {
    const { dir: upDir, db: up } = await place('up');
    const { db: copy } = await place('copy');
    const upstream = await startService({ KRR_DATA_DIR: upDir, ...up.env, KRR_SEED_COUNT: String(SEED_COUNT), LOG_LEVEL: 'info' }, 90_000);

    // Two replicas of one copy: one database, each its own folder (signing key, token file).
    const start = () => {
      const dir = folder('replica');
      const tokenFile = path.join(dir, 'upstream-token');
      writeFileSync(tokenFile, `${upstream.token}\n`);
      return startService(
        {
          KRR_DATA_DIR: dir,
          ...copy.env,
          KRR_UPSTREAM_URL: upstream.base,
          KRR_UPSTREAM_TOKEN_FILE: tokenFile,
          KRR_UPSTREAM_POLL_SECONDS: '1',
          KRR_UPSTREAM_MAX_BACKOFF_SECONDS: '2',
          LOG_LEVEL: 'info',
        },
        120_000,
      );
    };
    const replicas = await Promise.all([start(), start()]);

    // Exactly one follows: it says so, and it is the one session holding the lock.
    const following = await waitFor('a replica to follow', async () => {
      const now = replicas.filter((r) => r.output().includes(FOLLOWING));
      return now.length > 0 ? now : undefined;
    }, 120_000);
    expect(following).toHaveLength(1);
    const [leader] = following;
    const other = replicas.find((r) => r !== leader)!;
    await waitFor('the first page to be applied', async () => (((await position(other)) ?? 0) > 0 ? true : undefined), 120_000);
    expect(await lockHolders(copy)).toBe(1);
    expect(other.output()).not.toContain(FOLLOWING);

    leader.child.kill('SIGKILL');
    await leader.exited;

    // Citizens write at the upstream after the kill: the change numbers move past anything the leader saw.
    const citizens = (await up.query<{ id: string }>("select id from person where status = 'ACTIVE' and not reserved order by change_number limit 3")).map((r) => r.id);
    const { auth } = loadConfig({ KRR_DATA_DIR: upDir });
    if (auth.mode !== 'development') throw new Error('expected development tokens');
    const key = await loadOrCreateDevKey(auth.keyFile);
    for (let i = 0; i < WRITES_AFTER_THE_KILL; i++) {
      const token = await mintDevToken(auth, key, { citizen: { pid: citizens[i % citizens.length] } });
      const res = await post(upstream.url, token, requestBody(SetReservationAckDocument, { reserved: i < citizens.length }));
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('"errors"');
    }
    const latest = await up.number('select max(change_number) from change_log');
    expect(latest).toBe(SEED_COUNT + WRITES_AFTER_THE_KILL); // each write changes the entry: reserved, then not

    // The other replica takes the lock over and catches up.
    await waitFor('the other replica to catch up', async () => ((await position(other)) === latest ? true : undefined), 180_000);
    expect(other.output()).toContain(FOLLOWING);
    expect(await lockHolders(copy)).toBe(1);
    expect(await copy.number('select max(change_number) from change_log')).toBe(await copy.number('select count(*) from change_log'));

    // Every person the upstream has answers the same from the copy, byte for byte.
    const ids = (await up.query<{ id: string }>('select id from person order by id')).map((r) => r.id);
    expect(ids.length).toBe(SEED_COUNT);
    for (let i = 0; i < ids.length; i += 1000) {
      const body = { personidentifikatorer: ids.slice(i, i + 1000) };
      const [a, b] = await Promise.all([upstream, other].map((s) => post(`${s.base}/rest/v2/personer`, s.token, body)));
      expect(a.status).toBe(200);
      expect(b.text).toBe(a.text);
    }

    for (const s of [other, upstream]) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });
});
