import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import * as tables from '../../db/schema';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ChangedIdsDocument, ChangedMobilesDocument, ChangeNumbersDocument, ChangesDocument, LookUpPeopleDocument, UpdateContactInfoAckDocument, type ChangesQuery } from '../generated/graphql';
import { Scope } from '../../src/auth/scopes';
import { SqliteChangeFeed } from '../../src/store/sqlite/change-feed';
import { requestBody } from '../support/operations';
import { aChannel, aPerson, syntheticIds } from '../support/people';
import { itOnSqlite } from '../support/database';
import { createTestRegister, type TestRegister } from '../support/register';
import type { PersonReads, RegisterStore } from '../../src/store/types';

let register: TestRegister;
const ids = syntheticIds(2700, 31);
const people = ids.slice(0, 2500);
const [late, late2] = ids.slice(2500);
const shortPage = ids.slice(2502, 2504);
const writers = ids.slice(2600, 2612);
let base: number;

const latestChangeNumber = () => register.database.number('select coalesce(max(change_number), 0) n from change_log');

/** Records the size of every batch read the store is asked for, whichever store it is. */
function spyOnReads(store: RegisterStore) {
  const calls: Record<'people' | 'contactPoints' | 'digitalPost', number[]> = { people: [], contactPoints: [], digitalPost: [] };
  const forRequest = store.forRequest.bind(store);
  const spy = jest.spyOn(store, 'forRequest').mockImplementation((counter) => {
    const request = forRequest(counter);
    const reads = request.people;
    const people: PersonReads = {
      // The whole entry is a read of the person too.
      entries: (ids) => (calls.people.push(ids.length), reads.entries(ids)),
      people: (ids) => (calls.people.push(ids.length), reads.people(ids)),
      contactPoints: (ids) => (calls.contactPoints.push(ids.length), reads.contactPoints(ids)),
      digitalPost: (ids) => (calls.digitalPost.push(ids.length), reads.digitalPost(ids)),
      changePage: (after, limit) => reads.changePage(after, limit),
    };
    return { ...request, people };
  });
  return { calls, restore: () => spy.mockRestore() };
}

type Page = ChangesQuery['changes'];

/** Pages as a consumer does: on from `lastChangeNumber` until it reaches the newest or a page is empty. */
async function pageThrough(token: string, after: number, first: number): Promise<Page[]> {
  const pages: Page[] = [];
  for (;;) {
    const { data, errors } = await register.execute(ChangesDocument, { after, first }, token);
    expect(errors).toBeUndefined();
    const page = data!.changes;
    pages.push(page);
    if (page.entries.length === 0 || page.lastChangeNumber === page.latestChangeNumber) return pages;
    after = page.lastChangeNumber!;
  }
}

/** The 2500 people every page test reads, a few of them deleted or reserved. */
const population = () =>
  people.map((id, i) =>
    i % 50 === 1 ? aPerson(id, { status: 'DELETED' }) : i % 50 === 2 ? aPerson(id, { reserved: true, reservedAt: new Date(), reservationUpdatedAt: new Date() }) : aPerson(id),
  );

/**
 * Writes the population in transactions of 500, in order (change numbers as one write would
 * give them): on PostgreSQL each row's read-model trigger runs inside the statement, and one
 * 2500-person statement can outlast the store's 10 s statement_timeout on a loaded machine.
 */
async function putPopulation(into: TestRegister): Promise<void> {
  const all = population();
  for (let i = 0; i < all.length; i += 500) await into.put(...all.slice(i, i + 500));
}

// The register the page tests read and nobody writes to after this (a test that writes has a
// register of its own: the exact pages asserted here hold whatever ran before).
beforeAll(async () => {
  register = await createTestRegister();
  base = await latestChangeNumber();
  await putPopulation(register);
});
afterAll(() => register.close());

/** Points `register` at a fresh register of its own (set up by `setUp`) for the tests of the block that calls this. */
function withOwnRegister(setUp: (own: TestRegister) => Promise<void> = async () => {}): void {
  let shared: TestRegister;
  beforeAll(async () => {
    shared = register;
    register = await createTestRegister();
    await setUp(register);
  });
  afterAll(async () => {
    await register.close();
    register = shared;
  });
}

describe('change feed', () => {
  it('pages from the start to the newest change, each person once, in change order and in the state a lookup shows', async () => {
    const token = await register.agencyToken();
    const pages = await pageThrough(token, base, 1000);
    expect(pages.map((p) => p.entries.length)).toEqual([1000, 1000, 500]);
    expect(pages.map((p) => [p.fromChangeNumber, p.firstChangeNumber, p.lastChangeNumber, p.latestChangeNumber])).toEqual([
      [base, base + 1, base + 1000, base + 2500],
      [base + 1000, base + 1001, base + 2000, base + 2500],
      [base + 2000, base + 2001, base + 2500, base + 2500],
    ]);
    const entries = pages.flatMap((p) => p.entries);
    expect(entries.map((e) => e.person.id)).toEqual(people);
    expect(entries.map((e) => e.changeNumber)).toEqual(people.map((_, i) => base + i + 1));

    // Every field, rule and scope as `persons` answers it for the same people.
    const looked = [];
    for (let i = 0; i < people.length; i += 1000) {
      const { data, errors } = await register.execute(LookUpPeopleDocument, { ids: people.slice(i, i + 1000) }, token);
      expect(errors).toBeUndefined();
      looked.push(...data!.persons);
    }
    expect(entries.map((e) => e.person)).toEqual(looked);
    expect(entries[1].person).toMatchObject({ status: 'DELETED', contactInfo: null, reservation: { reserved: false }, notificationStatus: 'CANNOT_BE_NOTIFIED' });
    expect(entries[2].person).toMatchObject({ status: 'ACTIVE', reservation: { reserved: true }, notificationStatus: 'CANNOT_BE_NOTIFIED' });
    expect(entries[3].person).toMatchObject({ status: 'ACTIVE', certificate: 'MIIBsynthetic', language: 'NB' });
  });


  it('answers an empty page after the newest change, and defaults to pages of 1000', async () => {
    const token = await register.agencyToken();
    const latest = await latestChangeNumber();
    for (const after of [latest, latest + 100]) {
      const { data } = await register.execute(ChangedIdsDocument, { after }, token);
      expect(data?.changes).toEqual({ entries: [], lastChangeNumber: null, latestChangeNumber: latest });
    }
    const { data } = await register.execute(ChangedIdsDocument, { after: base }, token);
    expect(data?.changes.entries).toHaveLength(1000);
  });

  it.each([
    [{ after: 0, first: 0 }, 'first'],
    [{ after: 0, first: 1001 }, 'first'],
    [{ after: 0, first: -5 }, 'first'],
    [{ after: -1, first: 10 }, 'after'],
  ])('refuses %j with BAD_USER_INPUT', async (variables, argument) => {
    const { data, errors } = await register.execute(ChangedIdsDocument, variables, await register.agencyToken());
    expect(data).toBeNull();
    expect(errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
  });

  it('reads a page of 1000 people with every field in fixed statements, never reading a person row twice', async () => {
    const reads = spyOnReads(register.store);
    try {
      const before = register.store.statements.count;
      const { data, errors } = await register.execute(ChangesDocument, { after: base, first: 1000 }, await register.agencyToken());
      expect(errors).toBeUndefined();
      expect(data?.changes.entries).toHaveLength(1000);
      expect(reads.calls.people).toEqual([]);
      // Deleted people have no contact points or mailbox to read.
      const active = data!.changes.entries.filter((e) => e.person.status === 'ACTIVE').length;
      expect(active).toBeGreaterThan(900);
      expect(reads.calls.contactPoints).toEqual([active]);
      expect(reads.calls.digitalPost).toEqual([active]);
      // The page and the newest number (in one read transaction); contact points; mailboxes;
      // one audit insert. (Transaction control is not counted.)
      expect(register.store.statements.count - before).toBe(5);
    } finally {
      reads.restore();
    }
  });
});

describe('change feed after a person changes again', () => {
  let ownBase: number;
  withOwnRegister(async (own) => {
    ownBase = await own.database.number('select coalesce(max(change_number), 0) n from change_log');
    await putPopulation(own);
  });

  it('moves a person changed again to their new change number: seen once, in the new state, never at the old place', async () => {
    await register.put(aPerson(people[10], { language: 'se', email: aChannel('moved@example.org') }));
    const entries = (await pageThrough(await register.agencyToken(), ownBase, 1000)).flatMap((p) => p.entries);
    expect(entries).toHaveLength(2500);
    expect(entries.filter((e) => e.person.id === people[10])).toEqual([
      expect.objectContaining({ changeNumber: ownBase + 2501, person: expect.objectContaining({ language: 'SE' }) }),
    ]);
    expect(entries[entries.length - 1].person.contactInfo?.email?.address).toBe('moved@example.org');
  });
});

describe('change feed scopes and audit', () => {
  it('refuses agencies without krr:global/hentendring.read, citizens and callers without a token', async () => {
    const noFeed = await register.execute(ChangedIdsDocument, { after: 0 }, await register.agencyToken([Scope.CONTACT_INFO, Scope.DIGITAL_POST]));
    expect(noFeed.data).toBeNull();
    expect(noFeed.errors?.[0]).toMatchObject({ path: ['changes'], extensions: { code: 'FORBIDDEN', requiredScope: Scope.CHANGE_FEED } });
    const citizen = await register.execute(ChangedIdsDocument, { after: 0 }, await register.citizenToken(people[0]));
    expect(citizen.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const anonymous = await register.execute(ChangedIdsDocument, { after: 0 });
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('with only the feed scope gives id, status and reservation, and withholds contact and mailbox fields per person', async () => {
    const token = await register.agencyToken([Scope.CHANGE_FEED]);
    const plain = await register.execute(ChangedIdsDocument, { after: base, first: 3 }, token);
    expect(plain.errors).toBeUndefined();
    expect(plain.data?.changes.entries.map((e) => e.person.id)).toEqual(people.slice(0, 3));
    const full = await register.execute(ChangesDocument, { after: base, first: 1 }, token);
    expect(new Set(full.errors?.map((e) => `${e.path?.slice(0, 4).join('.')}:${e.path?.[4]}:${e.extensions?.code}`))).toEqual(
      new Set(['changes.entries.0.person:notificationStatus:FORBIDDEN', 'changes.entries.0.person:contactInfo:FORBIDDEN', 'changes.entries.0.person:digitalMailbox:FORBIDDEN', 'changes.entries.0.person:certificate:FORBIDDEN', 'changes.entries.0.person:language:FORBIDDEN', 'changes.entries.0.person:languageUpdatedAt:FORBIDDEN', 'changes.entries.0.person:updatedAt:FORBIDDEN']),
    );
    expect(full.data?.changes.entries[0].person).toMatchObject({ id: people[0], status: 'ACTIVE', reservation: { reserved: false }, contactInfo: null });
  });

  it('records every person on a page in the lookup audit log, with the scopes used', async () => {
    const org = '974760673';
    const rows = () => register.database.query('select person_id p, scopes s from lookup_audit where agency_org_number = ? order by id', org);
    await register.execute(ChangedIdsDocument, { after: base, first: 4 }, await register.agencyToken([Scope.CHANGE_FEED], org));
    expect(await rows()).toEqual(people.slice(0, 4).map((p) => ({ p, s: Scope.CHANGE_FEED })));
  });

  it('records nobody for a page read only for its change numbers', async () => {
    const org = '971526920';
    const token = await register.agencyToken([Scope.CHANGE_FEED], org);
    const { errors } = await register.execute(ChangeNumbersDocument, { after: base }, token);
    expect(errors).toBeUndefined();
    expect(await register.database.number('select count(*) n from lookup_audit where agency_org_number = ?', org)).toBe(0);
  });
});

describe('change feed consistency', () => {
  // Its tests write: a register of their own, each test's numbers counted from where it starts.
  withOwnRegister();

  /**
   * A second connection to the same database file, whose statement hook lets another
   * connection commit a change just before the page's second read runs.
   */
  function feedWithWriteBetweenReads(write: () => void): { feed: SqliteChangeFeed; committedBetween: () => number | null; close(): void } {
    let selects = 0;
    let committed: number | null = null;
    const reader = new Database(register.config.dbPath, {
      verbose: (sql) => {
        if (committed !== null || !/^\s*select/i.test(String(sql))) return;
        if (++selects === 2) {
          write();
          // What a third connection sees right after the write, still between the reads: the
          // write must have committed by now, or the test would prove nothing.
          const check = new Database(register.config.dbPath, { readonly: true });
          committed = check.prepare('select max(change_number) from change_log').pluck().get() as number;
          check.close();
        }
      },
    });
    return { feed: new SqliteChangeFeed(drizzle(reader, { schema: tables })), committedBetween: () => committed, close: () => reader.close() };
  }

  // SQLite's own snapshot mechanics (a statement hook on a second connection); the
  // PostgreSQL store's REPEATABLE READ page is tested in pg-register-store.test.ts.
  itOnSqlite('reads a page and the newest number in one snapshot: a change committed between the two reads is on the next page, never stepped over', async () => {
    const caughtUp = await latestChangeNumber();
    const between = feedWithWriteBetweenReads(() => void register.put(aPerson(late)));
    try {
      const page = between.feed.page(caughtUp, 1000);
      expect(between.committedBetween()).toBe(caughtUp + 1);
      // Read in two snapshots this would say latest = caughtUp + 1 with nothing shown, and a
      // consumer keeping latestChangeNumber as its position would never see `late`.
      expect(page).toEqual({ rows: [], latestChangeNumber: caughtUp });
      expect(await latestChangeNumber()).toBe(caughtUp + 1);
      const next = between.feed.page(page.latestChangeNumber, 1000);
      expect(next.rows.map((r) => [r.id, r.changeNumber])).toEqual([[late, caughtUp + 1]]);
      expect(next.latestChangeNumber).toBe(caughtUp + 1);
    } finally {
      between.close();
    }
  });

  itOnSqlite('keeps a short page whole as of its snapshot when a write lands between the reads', async () => {
    // The two newest changes are this test's own, whatever ran before.
    await register.put(aPerson(shortPage[0]), aPerson(shortPage[1]));
    const caughtUp = await latestChangeNumber();
    const between = feedWithWriteBetweenReads(() => void register.put(aPerson(late2)));
    try {
      const page = between.feed.page(caughtUp - 2, 1000);
      expect(between.committedBetween()).toBe(caughtUp + 1);
      expect(page.rows.map((r) => [r.id, r.changeNumber])).toEqual([
      [shortPage[0], caughtUp - 1],
      [shortPage[1], caughtUp],
    ]);
      expect(page.latestChangeNumber).toBe(caughtUp);
    } finally {
      between.close();
    }
  });

  it('misses no change while citizens write concurrently, and shows each person at least as new as the change that listed it', async () => {
    const url = `${await register.listen()}/graphql`;
    const ROUNDS = 4;
    // The mobile number carries which write it came from: +479 <person 2 digits> <round 5 digits>.
    const mobile = (person: number, round: number) => `9${String(person).padStart(2, '0')}${String(round).padStart(5, '0')}`;
    const roundOf = (number: string | undefined) => Number(number?.slice(-5));
    const start = await latestChangeNumber();
    await register.put(...writers.map((id, i) => aPerson(id, { mobile: aChannel(`+47${mobile(i, 0)}`) })));

    const post = async <TData, TVars>(token: string, document: TypedDocumentNode<TData, TVars>, variables: TVars) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(requestBody(document, variables)),
      });
      return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
    };
    let writersDone = false;
    const writing = Promise.all(
      writers.map(async (id, i) => {
        const token = await register.citizenToken(id);
        for (let round = 1; round <= ROUNDS; round++) {
          const { errors } = await post(token, UpdateContactInfoAckDocument, { input: { mobile: mobile(i, round) } });
          expect(errors).toBeUndefined();
        }
      }),
    ).then(() => {
      writersDone = true;
    });

    const agency = await register.agencyToken();
    const seen: { id: string; changeNumber: number; round: number; whileWriting: boolean }[] = [];
    let after = start;
    for (;;) {
      const doneBeforeRead = writersDone;
      const { data, errors } = await post(agency, ChangedMobilesDocument, { after, first: 5 });
      expect(errors).toBeUndefined();
      const page = data!.changes as { lastChangeNumber: number | null; latestChangeNumber: number; entries: { changeNumber: number; person: { id: string; contactInfo: { mobile: { number: string } | null } } }[] };
      for (const entry of page.entries) {
        // In change order, strictly after the position: the reader never goes back.
        expect(entry.changeNumber).toBeGreaterThan(after);
        after = entry.changeNumber;
        seen.push({ id: entry.person.id, changeNumber: entry.changeNumber, round: roundOf(entry.person.contactInfo?.mobile?.number), whileWriting: !doneBeforeRead });
      }
      const caughtUp = page.entries.length === 0 || page.lastChangeNumber === page.latestChangeNumber;
      // Done only when a page read after every write was acknowledged reaches the newest.
      if (caughtUp && doneBeforeRead) break;
      if (caughtUp) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await writing;

    const log = await register.database.query<{ n: number; p: string }>('select change_number n, person_id p from change_log where change_number > ? order by change_number', start);
    expect(log).toHaveLength(writers.length * (ROUNDS + 1));
    // The k-th change of a person (0: the initial put) is their round-k write.
    const roundOfChange = new Map<number, number>();
    for (const id of writers) log.filter((c) => c.p === id).forEach((c, k) => roundOfChange.set(c.n, k));

    for (const change of log) {
      expect(seen.some((s) => s.id === change.p && s.changeNumber >= change.n)).toBe(true);
    }
    for (const s of seen) expect(s.round).toBeGreaterThanOrEqual(roundOfChange.get(s.changeNumber)!);
    for (const id of writers) expect(seen.filter((s) => s.id === id).at(-1)?.round).toBe(ROUNDS);
    // The run really interleaved: pages were read during the writes, and people changed
    // after being listed were listed again later.
    expect(seen.filter((s) => s.whileWriting).length).toBeGreaterThan(0);
    expect(writers.filter((id) => seen.filter((s) => s.id === id).length > 1).length).toBeGreaterThan(0);
  });
});
