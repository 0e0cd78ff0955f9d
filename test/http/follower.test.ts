/**
 * Follower mode (issue 15), as processes: an upstream (this service in normal mode), a copy
 * following it (KRR_UPSTREAM_URL), and a copy of the copy following the first copy's own
 * change feed. Citizens write at the upstream the whole time; the copy is SIGKILLed while
 * it syncs, several times, and restarted; the upstream is stopped for a while and started
 * again on the same port. At the end every person's answer (`persons`, in the register's
 * JSON) is the same from all three, and each copy's position is its upstream's latest
 * change number. On both stores.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadOrCreateDevKey } from '../../src/auth/keys';
import { mintDevToken } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { createRandom } from '../../db/seed/generate';
import { DeleteContactInfoAckDocument, MyStatusDocument, SetLanguageAckDocument, SetReservationAckDocument, UpdateContactInfoAckDocument, type Language } from '../generated/graphql';
import { requestBody } from '../support/operations';
import { syntheticIds } from '../support/people';
import { metricOf, postJson, serviceScratch, startService, waitFor, type RunningService } from '../support/service';

const SEED_COUNT = 1500;
const CITIZENS = 8;
const KILLS = 3;
// Generous: on a loaded machine a copy busy applying and serving pages can be slow to answer.
const REQUEST_TIMEOUT_MS = 60_000;
const post = (url: string, token: string, body: unknown) => postJson(url, token, body, REQUEST_TIMEOUT_MS);
const metric = (service: RunningService, name: string) => metricOf(service, name, REQUEST_TIMEOUT_MS);

// Five processes start (one of them four times): minutes on a loaded machine.
jest.setTimeout(600_000);

const started = Date.now();
const step = (what: string) => process.env.KRR_TEST_VERBOSE && process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}




const LANGUAGES: Language[] = ['NB', 'NN', 'EN', 'SE'];

/** Citizens changing their entries at the upstream until told to stop; refusals while it is down are expected. */
function writeContinuously(url: () => string, tokens: string[], stop: { now: boolean }): Promise<number> {
  const random = createRandom(15);
  let done = 0;
  const one = async (i: number) => {
    const r = random();
    const body =
      r < 0.4
        ? requestBody(UpdateContactInfoAckDocument, { input: { mobile: `+4791${String(i).padStart(2, '0')}${String(done % 10_000).padStart(4, '0')}` } })
        : r < 0.6
          ? requestBody(SetReservationAckDocument, { reserved: random() < 0.5 })
          : r < 0.8
            ? requestBody(SetLanguageAckDocument, { language: LANGUAGES[Math.floor(random() * 4)] })
            : r < 0.9
              ? requestBody(UpdateContactInfoAckDocument, { input: { email: `c${i}.${done}@example.org` } })
              : requestBody(DeleteContactInfoAckDocument);
    const res = await post(url(), tokens[i], body).catch(() => null);
    if (res?.status === 200 && !res.text.includes('"errors"')) done++;
    else await new Promise((r) => setTimeout(r, 100));
  };
  return (async () => {
    while (!stop.now) await Promise.all(tokens.map((_, i) => one(i)));
    return done;
  })();
}

describe('a copy following an upstream register (processes)', () => {
  const { place } = serviceScratch('krr-follow');
  // The writers' stop, also when the test fails before it says stop: otherwise they go on
  // posting (and retrying) and Jest never exits.
  const stop = { now: false };
  afterAll(() => {
    stop.now = true;
  });

  it('ends with the same answers and the position at the upstream latest, after kills, an upstream outage and concurrent writes', async () => {
    const up = await place('up');
    const copy = await place('copy');
    const copy2 = await place('copy2');
    const upPort = await freePort();
    const upEnv = { KRR_DATA_DIR: up.dir, ...up.db.env, KRR_SEED_COUNT: String(SEED_COUNT), PORT: String(upPort), LOG_LEVEL: 'info' };
    let upstream = await startService(upEnv, 90_000);
    step('upstream started');

    // The copy's credentials: an agency token of the upstream with all scopes, in a file.
    const tokenFile = path.join(copy.dir, 'upstream-token');
    writeFileSync(tokenFile, `${upstream.token}\n`);
    const copyPort = await freePort();
    const copyEnv = {
      KRR_DATA_DIR: copy.dir,
      ...copy.db.env,
      PORT: String(copyPort),
      KRR_UPSTREAM_URL: upstream.base,
      KRR_UPSTREAM_TOKEN_FILE: tokenFile,
      KRR_UPSTREAM_POLL_SECONDS: '1',
      KRR_UPSTREAM_MAX_BACKOFF_SECONDS: '2',
      LOG_LEVEL: 'info',
    };

    // Citizens: some of the seeded people and some not registered yet.
    const seeded = (await up.db.query<{ id: string }>("select id from person where status = 'ACTIVE' order by change_number limit 4")).map((r) => r.id);
    await up.db.release();
    const pids = [...seeded, ...syntheticIds(CITIZENS - seeded.length, 1515)];
    const { auth } = loadConfig({ KRR_DATA_DIR: up.dir });
    if (auth.mode !== 'development') throw new Error('expected development tokens');
    const key = await loadOrCreateDevKey(auth.keyFile);
    const citizenTokens = await Promise.all(pids.map((pid) => mintDevToken(auth, key, { citizen: { pid } })));
    let upstreamUrl = upstream.url;
    const writing = writeContinuously(() => upstreamUrl, citizenTokens, stop);
    step('writing');

    // The copy, killed while it syncs and restarted, several times.
    const random = createRandom(99);
    const positions: { position: number; latest: number }[] = [];
    let follower = await startService(copyEnv, 120_000);
    for (let k = 0; k < KILLS; k++) {
      // The first kill comes as soon as the copy listens, before its first pages can all be
      // in (on an idle machine the copy catches up within the shortest random wait, and no
      // kill would find it behind); the others at random moments while writes go on.
      const wait = 150 + random() * 1200;
      await new Promise((r) => setTimeout(r, k === 0 ? 0 : wait));
      follower.child.kill('SIGKILL');
      await follower.exited;
      const [row] = await copy.db.query<{ position: number; latest: number }>('select position, latest from upstream_sync');
      await copy.db.release();
      positions.push({ position: Number(row?.position ?? 0), latest: Number(row?.latest ?? 0) });
      follower = await startService(copyEnv, 120_000);
    }
    step('kills done');
    // Each kill found the position where the last committed page left it: never backwards.
    for (let i = 1; i < positions.length; i++) expect(positions[i].position).toBeGreaterThanOrEqual(positions[i - 1].position);
    // At least one kill came while the copy was behind: on an idle machine that is the first,
    // often before its first page is committed (position 0); under load later ones too.
    expect(positions.some((p) => p.position < SEED_COUNT || p.position < p.latest)).toBe(true);

    // A copy of the copy, following the copy's own change feed.
    const copy2Token = path.join(copy2.dir, 'upstream-token');
    writeFileSync(copy2Token, follower.token);
    let second = await startService(
      { KRR_DATA_DIR: copy2.dir, ...copy2.db.env, KRR_UPSTREAM_URL: follower.base, KRR_UPSTREAM_TOKEN_FILE: copy2Token, KRR_UPSTREAM_POLL_SECONDS: '1', KRR_UPSTREAM_MAX_BACKOFF_SECONDS: '2' },
      120_000,
    );

    // The upstream goes away for a while: the copy keeps serving, and retries.
    upstream.child.kill('SIGTERM');
    await upstream.exited;
    const during = await post(`${follower.base}/rest/v2/personer`, follower.token, { personidentifikatorer: pids });
    expect(during.status).toBe(200);
    await new Promise((r) => setTimeout(r, 3000));
    expect(follower.output()).toContain('the upstream could not be read; retrying');
    upstream = await startService(upEnv, 90_000);
    upstreamUrl = upstream.url;
    step('upstream restarted');
    await new Promise((r) => setTimeout(r, 2000));

    stop.now = true;
    const writes = await writing;
    step('writes stopped');
    expect(writes).toBeGreaterThan(0);

    // The copy catches up: its position is the upstream's latest change number.
    const latest = await up.db.number('select max(change_number) from change_log');
    await up.db.release();
    await waitFor('the copy to catch up', async () => ((await metric(follower, 'krr_upstream_position')) === latest ? true : undefined), 60_000);
    expect(await metric(follower, 'krr_upstream_latest')).toBe(latest);
    const copyLatest = await copy.db.number('select max(change_number) from change_log');
    await copy.db.release();
    await waitFor('the copy of the copy to catch up', async () => ((await metric(second, 'krr_upstream_position')) === copyLatest ? true : undefined), 60_000);
    step('caught up');
    for (const s of [follower, second]) expect((await fetch(`${s.base}/readyz`)).status).toBe(200);

    // Every person the upstream has answers the same from all three, byte for byte.
    const ids = (await up.db.query<{ id: string }>('select id from person order by id')).map((r) => r.id);
    await up.db.release();
    expect(ids.length).toBeGreaterThanOrEqual(SEED_COUNT);
    for (let i = 0; i < ids.length; i += 1000) {
      const body = { personidentifikatorer: ids.slice(i, i + 1000) };
      const [a, b, c] = await Promise.all([upstream, follower, second].map((s) => post(`${s.base}/rest/v2/personer`, s.token, body)));
      expect(a.status).toBe(200);
      expect(b.text).toBe(a.text);
      expect(c.text).toBe(a.text);
    }

    // Citizens cannot change the copy: their entry belongs to the upstream.
    const copyAuth = loadConfig({ KRR_DATA_DIR: copy.dir }).auth;
    if (copyAuth.mode !== 'development') throw new Error('expected development tokens');
    const citizenAtCopy = await mintDevToken(copyAuth, await loadOrCreateDevKey(copyAuth.keyFile), { citizen: { pid: pids[0] } });
    const refused = await post(follower.url, citizenAtCopy, requestBody(SetReservationAckDocument, { reserved: true }));
    expect(JSON.parse(refused.text).errors[0].extensions).toEqual({ code: 'READ_ONLY_COPY', upstream: upstream.base });
    const me = await post(follower.url, citizenAtCopy, requestBody(MyStatusDocument));
    expect(JSON.parse(me.text).data.me).toEqual({ id: pids[0], status: 'ACTIVE' });

    for (const s of [second, follower, upstream]) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    second = follower = upstream = undefined as never;
  });
});
