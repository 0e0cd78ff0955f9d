import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generatePopulation } from '../../db/seed/generate';
import { projectRoot } from '../../src/paths';
import { formatPersonRecord } from '../../src/register/register-format';
import { fromEntries, importPeople, openRegisterFile, registerText, RegisterFileError, type RegisterEntry } from '../../src/register/import';
import { openSqliteDatabase } from '../../src/store/sqlite/connection';
import { openSqliteRegisterStore, type SqliteRegisterStore } from '../../src/store/sqlite';

const FIXTURES = path.join(projectRoot, 'test/fixtures/register');
/** The whole file read through the streaming reader: its shape, unit and every entry. */
async function readRegisterFile(text: string) {
  const source = registerText(text);
  const entries: RegisterEntry[] = [];
  for await (const batch of source.batches) entries.push(...batch);
  return { shape: source.shape, unit: source.unit, entries };
}
const fixture = (name: string) => readRegisterFile(readFileSync(path.join(FIXTURES, name), 'utf8'));
const NOW = new Date('2026-06-15T12:00:00.000Z');
const LATER = new Date('2026-06-16T12:00:00.000Z');

/** Everything the database holds, for comparing before and after. */
function contents(store: SqliteRegisterStore) {
  const all = (sql: string) => store.sqlite.prepare(sql).all();
  return {
    people: all('select * from person order by id'),
    contactPoints: all('select * from contact_point order by person_id, channel'),
    // The certificate by value (the rows hold its id in `certificate`): the same whichever ids the values took.
    digitalPost: all('select d.person_id, d.mailbox_address, d.provider_org_number, c.value as certificate from digital_post d left join certificate c on c.id = d.certificate_id order by d.person_id'),
    changeLog: all('select * from change_log order by change_number'),
  };
}

function person(store: SqliteRegisterStore, id: string) {
  return store.sqlite.prepare('select * from person where id = ?').get(id) as Record<string, unknown> | undefined;
}

function contactPoint(store: SqliteRegisterStore, id: string, channel: 'EMAIL' | 'MOBILE') {
  return store.sqlite.prepare('select * from contact_point where person_id = ? and channel = ?').get(id, channel) as Record<string, unknown> | undefined;
}

async function mustImport(store: SqliteRegisterStore, entries: RegisterEntry[], now = NOW) {
  const result = await importPeople(store, fromEntries(entries), now);
  if (!result.ok) throw new Error(`import refused: ${JSON.stringify(result.problems)}`);
  return result;
}

describe('readRegisterFile', () => {
  it('reads the bytes the import first saw, however the file grows, and fails when it shrank', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-size-'));
    try {
      const file = path.join(dir, 'people.jsonl');
      const [first, second] = readFileSync(path.join(FIXTURES, 'people.jsonl'), 'utf8').split('\n');
      writeFileSync(file, `${first}\n${second}\n`);
      const seen = Buffer.byteLength(`${first}\n`);
      const source = await openRegisterFile(file, undefined, seen);
      const entries: RegisterEntry[] = [];
      for await (const batch of source.batches) entries.push(...batch);
      expect(entries.map((e) => e.position)).toEqual([1]);
      await expect(openRegisterFile(file, undefined, seen + 1_000_000)).rejects.toThrow(/cannot read .*people\.jsonl: it changed while the import read it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('recognises a lookup response and numbers its records from 1', async () => {
    const file = await fixture('personer.json');
    expect(file.shape).toBe('lookup response');
    expect(file.unit).toBe('record');
    expect(file.entries.map((e) => e.position)).toEqual([1, 2, 3, 4, 5]);
  });

  it('recognises a change-feed page and ignores its paging keys', async () => {
    const file = await fixture('endringer.json');
    expect(file.shape).toBe('change-feed page');
    expect(file.entries.map((e) => e.position)).toEqual([1, 2, 3]);
  });

  it('numbers JSON Lines records by line, skipping blank lines', async () => {
    const file = await fixture('people.jsonl');
    expect(file.shape).toBe('JSON Lines');
    expect(file.unit).toBe('line');
    expect(file.entries.map((e) => e.position)).toEqual([1, 2, 4]);
  });

  it('reads a single-line JSON Lines file as one person', async () => {
    const file = await readRegisterFile('{"personidentifikator":"01859012325","status":"AKTIV"}\n');
    expect(file).toMatchObject({ shape: 'JSON Lines', entries: [{ position: 1 }] });
  });

  it.each([
    ['a missing comma', '{\n  "personer": [\n    {"personidentifikator": "01859012325" "status": "AKTIV"}\n  ]\n}', '"status"'],
    ['an unexpected token', '{\n  "personer": [\n    {"personidentifikator": "01859012325", "status": AKTIV}\n  ]\n}', 'AKTIV}'],
  ])('reports malformed JSON (%s) with its line and column, masking identity numbers', async (_, text, near) => {
    const column = text.split('\n')[2].indexOf(near) + 1;
    const error = await readRegisterFile(text).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegisterFileError);
    expect((error as Error).message).toMatch(new RegExp(`^malformed JSON at line 3, column ${column}: `));
    expect((error as Error).message).not.toMatch(/\d{11}/);
  });

  it('reports a malformed line of JSON Lines as a problem of that line', async () => {
    const file = await readRegisterFile('{"status":"AKTIV"}\n{"status":"AKTIV",}\n');
    expect(file.entries[1]).toEqual({ position: 2, malformed: 'malformed JSON at column 19: Expected double-quoted property name' });
  });

  it.each([
    ['an empty file', '\n  \n', 'the file is empty'],
    ['a bare array', '[{"status":"AKTIV"}]', 'expected {"personer": [...]}'],
    ['an unknown wrapper', '{\n  "persons": []\n}', 'expected {"personer": [...]}'],
    ['personer that is not a list', '{"personer": {}}', '"personer" must be an array'],
  ])('refuses %s', async (_, text, message) => {
    await expect(readRegisterFile(text)).rejects.toThrow(message);
  });
});

describe('importPeople', () => {
  let store: SqliteRegisterStore;
  beforeEach(() => {
    store = openSqliteRegisterStore(':memory:');
  });
  afterEach(() => store.close());

  it('imports a lookup response: active and deleted people, not the unregistered', async () => {
    const result = await mustImport(store, (await fixture('personer.json')).entries);
    expect(result).toEqual({ ok: true, imported: 4, skippedNotRegistered: 1, duplicatesInFile: 0, changeNumbers: { first: 1, last: 4 }, records: 5 });
    expect(contents(store).people.map((p) => (p as { id: string }).id)).toEqual(['01859012325', '14877545629', '17840109828', '29928032173']);
    expect(person(store, '03815521160')).toBeUndefined();
    expect(person(store, '29928032173')).toMatchObject({ status: 'DELETED' });
    expect(contents(store).changeLog).toEqual([1, 2, 3, 4].map((n) => expect.objectContaining({ change_number: n, kind: 'IMPORT', changed_at: NOW.getTime() })));
  });

  it('stores mobiles in E.164 and timestamps at the instant the register meant', async () => {
    await mustImport(store, (await fixture('personer.json')).entries);
    expect(contactPoint(store, '01859012325', 'MOBILE')).toMatchObject({ address: '+4741514965', updated_at: Date.parse('2024-02-10T11:30:00Z') });
    expect(contactPoint(store, '14877545629', 'MOBILE')).toMatchObject({
      address: '+4799999999',
      updated_at: Date.parse('2023-08-05T10:45:15.768Z'),
      last_validated_at: Date.parse('2023-08-05T10:45:15.123Z'),
    });
    expect(contactPoint(store, '01859012325', 'EMAIL')).toMatchObject({
      address: 'ola.nordmann@example.com',
      updated_at: Date.parse('2023-06-29T08:14:52Z'),
      last_verified_at: Date.parse('2025-11-03T07:00:00Z'),
      last_validated_at: Date.parse('2023-06-29T08:15:40.123Z'),
    });
    // Stored as given, compared lower-cased.
    expect(contactPoint(store, '17840109828', 'EMAIL')).toMatchObject({ address: 'Kari.Nordmann@Example.org', address_key: 'kari.nordmann@example.org' });
    expect(person(store, '14877545629')).toMatchObject({ reserved: 1, reserved_at: Date.parse('2023-06-13T11:42:34Z'), language: 'nn' });
    // The person's updatedAt is the latest timestamp in the record.
    expect(person(store, '01859012325')).toMatchObject({ updated_at: Date.parse('2026-01-15T09:12:03.500Z') });
  });

  it('keeps the mailbox and certificate of an active person, and nothing of a deleted one', async () => {
    await mustImport(store, (await fixture('personer.json')).entries);
    expect(contents(store).digitalPost).toEqual([
      expect.objectContaining({ person_id: '01859012325', mailbox_address: 'ola.nordmann#9YDT', provider_org_number: '984661185', certificate: expect.stringMatching(/^MIIB/) }),
    ]);
    expect(contents(store).contactPoints.filter((c) => (c as { person_id: string }).person_id === '29928032173')).toEqual([]);
  });

  it('imports a change-feed page', async () => {
    const result = await mustImport(store, (await fixture('endringer.json')).entries);
    expect(result).toMatchObject({ imported: 3, skippedNotRegistered: 0 });
    expect(contactPoint(store, '30908876586', 'MOBILE')).toMatchObject({ address: '+4791512345', updated_at: Date.parse('2025-03-14T15:09:26.535Z') });
  });

  it('lets the later record win when a person appears twice in a file', async () => {
    const result = await mustImport(store, (await fixture('people.jsonl')).entries);
    expect(result).toMatchObject({ imported: 2, duplicatesInFile: 1, changeNumbers: { first: 1, last: 2 } });
    expect(contactPoint(store, '12899922245', 'EMAIL')).toMatchObject({ address: 'per.hansen@example.org' });
    expect(person(store, '12899922245')).toMatchObject({ language: 'nn', change_number: 2 });
  });

  it('updates a person on re-import, with a new change number and the whole entry replaced', async () => {
    await mustImport(store, (await fixture('personer.json')).entries);
    const before = person(store, '01859012325');
    await mustImport(store, (await fixture('endringer.json')).entries, LATER);
    const after = person(store, '01859012325');
    expect(after?.change_number).toBeGreaterThan(before?.change_number as number);
    expect(after?.change_number).toBe(7);
    expect(contactPoint(store, '01859012325', 'EMAIL')).toMatchObject({ address: 'ola@example.net', updated_at: Date.parse('2026-02-01T08:00:00Z') });
    expect(contents(store).digitalPost).toEqual([]);
    expect(store.sqlite.prepare("select count(*) as n from change_log where person_id = '01859012325'").get()).toEqual({ n: 2 });
  });

  it('writes nothing when any record is bad, and lists every bad record by position', async () => {
    await mustImport(store, (await fixture('personer.json')).entries);
    const before = contents(store);
    const result = await importPeople(store, fromEntries((await fixture('bad.jsonl')).entries), LATER);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problemCount).toBe(6);
    expect(result.problems.map((p) => p.position)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(result.problems[0]).toEqual({ position: 2, reason: 'kontaktinformasjon.epostadresse: is not a valid email address' });
    expect(result.problems[2].reason).toBe('personidentifikator: "018590*****" is not a valid identity number (11 digits with matching check digits)');
    // Line 1 is good, yet it is not written either.
    expect(person(store, '08834744474')).toBeUndefined();
    expect(contents(store)).toEqual(before);
  });

  it('reports the first 50 problems and counts the rest', async () => {
    const entries = Array.from({ length: 60 }, (_, i) => ({ position: i + 1, value: { status: 'AKTIV' } }));
    const result = await importPeople(store, fromEntries(entries), NOW);
    expect(result).toMatchObject({ ok: false, problemCount: 60 });
    if (!result.ok) expect(result.problems).toHaveLength(50);
  });
});

describe('npm run import (the CLI)', () => {
  const cli = path.join(projectRoot, 'dist/src/cli/import.js');
  let dir: string;

  beforeAll(() => {
    // `npm test` has just built (pretest); a direct `npx jest` run builds here.
    if (process.env.npm_lifecycle_event !== 'test') execFileSync('npm', ['run', '-s', 'build'], { cwd: projectRoot, stdio: 'pipe' });
  }, 120_000);
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'krr-import-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], { cwd: projectRoot, encoding: 'utf8', env: { ...process.env, KRR_DATA_DIR: dir, KRR_DB_PATH: '' } });

  it('imports a file, prints a summary and exits 0', () => {
    const db = path.join(dir, 'krr.sqlite');
    const out = run(path.join(FIXTURES, 'personer.json'), '--db', db);
    expect(out.stderr).toMatch(/\(lookup response\): 4 people imported into .*krr\.sqlite \(change numbers 1-4\)/);
    expect(out.stderr).toMatch(/1 not registered \(IKKE_REGISTRERT\), skipped/);
    expect(out.status).toBe(0);
    const store = openSqliteDatabase(db);
    expect(store.sqlite.prepare('select count(*) as n from person').get()).toEqual({ n: 4 });
    store.close();
  });

  it('uses the configured database when --db is not given', () => {
    const out = run(path.join(FIXTURES, 'people.jsonl'));
    expect(out.stderr).toMatch(/1 record was overridden by a later record of the same person/);
    expect(out.status).toBe(0);
    expect(existsSync(path.join(dir, 'krr.sqlite'))).toBe(true);
  });

  it('exits 1 listing the bad records, writes nothing and shows no identity number', () => {
    const db = path.join(dir, 'krr.sqlite');
    const out = run(path.join(FIXTURES, 'bad.jsonl'), '--db', db);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('bad.jsonl: 6 bad lines; nothing was written');
    expect(out.stderr).toContain('\nline 2: kontaktinformasjon.epostadresse: is not a valid email address\n');
    expect(out.stderr).toContain('\nline 5: malformed JSON at column 55: ');
    expect(out.stderr).not.toMatch(/\d{11}/);
    expect(existsSync(db)).toBe(false);
  });

  it('exits 1 on a malformed JSON document, naming line and column', () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{\n  "personer": [\n    {"personidentifikator": "01859012325",}\n  ]\n}\n');
    const out = run(file, '--db', path.join(dir, 'krr.sqlite'));
    expect(out.stderr).toBe('import: malformed JSON at line 3, column 43: Expected double-quoted property name\n');
    expect(out.status).toBe(1);
  });

  it('exits 3, not as a usage error, when the file cannot be read, saying why', () => {
    const out = run(path.join(dir, 'missing.json'));
    expect(out.stderr).toMatch(/^import: cannot read .*missing\.json: no such file \(ENOENT\)\n$/);
    expect(out.status).toBe(3);
    expect(run(dir).stderr).toContain('it is a directory, not a file (EISDIR)');
  });

  describe('a JSON Lines file of many groups of lines, read by parallel threads', () => {
    // 4 500 people, three groups of lines (2000 each): with two threads, the first and third are one's, the second the other's.
    const people = [...generatePopulation({ count: 4500, seed: 7, now: NOW })].map((r) => formatPersonRecord(r) as Record<string, unknown>);
    const write = (lines: string[]) => {
      const file = path.join(dir, 'many.jsonl');
      writeFileSync(file, `${lines.join('\n')}\n`);
      return file;
    };

    it('keeps file order: the later record wins, change numbers follow the lines', () => {
      const lines = people.map((p) => JSON.stringify(p));
      lines.splice(2100, 0, ''); // a blank line in the second group
      lines.splice(4400, 0, JSON.stringify({ ...people[9], spraak: 'en' })); // person 10 again, in the third group
      const db = path.join(dir, 'krr.sqlite');
      const out = run(write(lines), '--db', db);
      expect(out.stderr).toMatch(/\(JSON Lines\): 4,500 people imported into .*krr\.sqlite \(change numbers 1-4500\)/);
      expect(out.stderr).toMatch(/1 record was overridden by a later record of the same person/);
      expect(out.status).toBe(0);
      const store = openSqliteDatabase(db);
      const numberOf = (i: number) => store.sqlite.prepare('select change_number as n, language from person where id = ?').get(people[i].personidentifikator) as { n: number; language: string };
      // Numbers in the order of each person's last record: person 10 (line 4401) after person 4399, before person 4400.
      expect(numberOf(9)).toEqual({ n: 4399, language: 'en' });
      expect([0, 8, 10, 1999, 2000, 3999, 4000, 4398, 4399, 4499].map((i) => numberOf(i).n)).toEqual([1, 9, 10, 1999, 2000, 3999, 4000, 4398, 4400, 4500]);
      store.close();
    });

    it('lists the first 50 problems in file order, whichever thread found them', () => {
      const lines = people.map((p) => JSON.stringify(p));
      const bad = (i: number) => (lines[i] = JSON.stringify({ ...people[i], kontaktinformasjon: { epostadresse: 'not-an-email' } }));
      [149, 2099, 4199].forEach(bad);
      for (let i = 2199; i < 2259; i++) bad(i);
      lines.splice(1000, 0, ''); // a blank line: every line after it one further on
      const db = path.join(dir, 'krr.sqlite');
      const out = run(write(lines), '--db', db);
      expect(out.status).toBe(1);
      const listed = [...out.stderr.matchAll(/^line (\d+): /gm)].map((m) => Number(m[1]));
      expect(listed).toEqual([150, 2101, ...Array.from({ length: 48 }, (_, i) => 2201 + i)]);
      expect(out.stderr).toContain('many.jsonl: 63 bad lines; nothing was written');
      expect(out.stderr).toContain('... and 13 more');
      expect(existsSync(db)).toBe(false);
    });
  });

  it.each([[[]], [['a.json', 'b.json']], [['--bogus', 'a.json']]])('exits 2 on a usage error: %j', (args) => {
    const out = run(...args);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('usage: npm run import -- FILE');
  });
});
