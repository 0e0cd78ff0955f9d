/**
 * `npm run export` and `npm run import` end to end, as an operator runs them, on the store
 * under test: an export from SQLite imported here gives the same `persons` answers (on the
 * postgres project: the SQLite -> PostgreSQL move), and an import killed in the middle of
 * its write leaves the register exactly as it was, with the database intact.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generatePopulation } from '../../db/seed/generate';
import { projectRoot } from '../../src/paths';
import { formatPersonRecord } from '../../src/register/register-format';
import { exportPages } from '../../src/register/export';
import { StatementCounter } from '../../src/store/types';
import { LookUpPeopleDocument } from '../generated/graphql';
import { openSqliteDatabase } from '../../src/store/sqlite/connection';
import { amcheck, itOnSqlite, storeUnderTest, waitForNoSessions } from '../support/database';
import { createTestRegister, type TestRegister } from '../support/register';

const CLI = (name: string) => path.join(projectRoot, `dist/src/cli/${name}.js`);
const NOW = new Date('2026-06-15T12:00:00.000Z');
const people = (count: number, seed: number) => [...generatePopulation({ count, seed, now: NOW })];

let dir: string;
beforeAll(() => {
  // `npm test` has just built (pretest); a direct `npx jest` run builds here.
  if (process.env.npm_lifecycle_event !== 'test') execFileSync('npm', ['run', '-s', 'build'], { cwd: projectRoot, stdio: 'pipe' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'krr-import-export-'));
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CLI's environment: the store only from `env` (or `--db`), nothing from the shell's. */
const cliEnv = (env: Record<string, string> = {}) => ({ ...process.env, KRR_DATA_DIR: dir, KRR_DB_PATH: '', KRR_DATABASE_URL: '', ...env });

const run = (cli: string, args: string[], env: Record<string, string>) => spawnSync(process.execPath, [CLI(cli), ...args], { cwd: projectRoot, encoding: 'utf8', env: cliEnv(env) });

/** What the import prints just before its one write transaction starts. */
const WRITING = 'writing them into the register in one transaction';

/** The register, as the export writes it, read in-process. */
async function contents(register: TestRegister): Promise<string> {
  let text = '';
  for await (const page of exportPages(register.store.forRequest(new StatementCounter()).people)) text += page.text;
  return text;
}

async function persons(register: TestRegister, ids: string[]) {
  const token = await register.agencyToken();
  const result = await register.execute(LookUpPeopleDocument, { ids }, token);
  expect(result.errors).toBeUndefined();
  return result.data!.persons;
}

describe('export, then import elsewhere', () => {
  let source: TestRegister;
  let target: TestRegister;
  const sourceDb = () => path.join(dir, 'source.sqlite');

  beforeAll(async () => {
    // The source is always SQLite: on the postgres project this is the move to PostgreSQL.
    source = await createTestRegister({ KRR_DATABASE_URL: '', KRR_DB_PATH: sourceDb() });
    target = await createTestRegister();
  });
  afterAll(async () => {
    await source?.close();
    await target?.close();
  });

  it('gives the same persons answers, and the same export, as the register it came from', async () => {
    const population = people(150, 7);
    await source.put(...population);
    // Some people changed since: their change numbers are no longer in generation order.
    await source.put({ ...population[3], language: 'en', languageUpdatedAt: NOW }, { ...population[10], email: null, mobile: null });
    const file = path.join(dir, 'export.jsonl');
    const exported = run('export', [file, '--db', sourceDb()], {});
    expect(exported.stderr).toMatch(new RegExp(`^export: 150 people written to .*export\\.jsonl from .*source\\.sqlite; last change number 152\\n$`));
    expect(exported.status).toBe(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(150);
    // In change-number order: the two changed people last.
    expect(lines.slice(-2).map((l) => JSON.parse(l).personidentifikator)).toEqual([population[3].id, population[10].id]);

    const imported = run('import', [file], target.database.env);
    expect(imported.stderr).toMatch(/150 people imported into .* \(change numbers 1-150\)/);
    expect(imported.status).toBe(0);

    const ids = population.map((p) => p.id);
    const strip = (list: Awaited<ReturnType<typeof persons>>) => list.map((p) => p && { ...p, updatedAt: undefined });
    // Person.updatedAt is not a field of the register's JSON: the import takes the latest timestamp of the record.
    expect(strip(await persons(target, ids))).toEqual(strip(await persons(source, ids)));
    expect(await contents(target)).toEqual(await contents(source));
  });

  it('refuses to export a register that is not there, and never leaves a half-written file', () => {
    const file = path.join(dir, 'nothing.jsonl');
    const out = run('export', [file, '--db', path.join(dir, 'missing.sqlite')], {});
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('no register at');
    expect(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout).not.toMatch(/nothing\.jsonl/);
  });
});

/** The journal mode a SQLite file's header records (bytes 18-19: 2 for WAL, 1 for a rollback journal). */
function headerJournal(file: string): 'wal' | 'rollback' {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  return header[18] === 2 ? 'wal' : 'rollback';
}

/**
 * Runs the import CLI and SIGKILLs it once it says its one write transaction starts and,
 * given `file`, that file is there too (polled every few milliseconds).
 */
async function killedImport(args: string[], env: Record<string, string>, file?: string): Promise<void> {
  const child = spawn(process.execPath, [CLI('import'), ...args], { cwd: projectRoot, env: cliEnv(env) });
  let stderr = '';
  let poll: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    const kill = () => {
      clearInterval(poll);
      child.kill('SIGKILL');
      resolve();
    };
    // Printed just before the one transaction starts: the kill lands inside it.
    const writing = () => stderr.includes(WRITING);
    if (file) poll = setInterval(() => writing() && existsSync(file) && kill(), 2);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!file && writing()) kill();
    });
  });
  const [code, signal] = (await Promise.race([killed.then(() => once(child, 'exit')), once(child, 'exit')])) as [number | null, string | null];
  clearInterval(poll);
  expect({ code, signal, stderr: stderr.replace(/^import: \d.*\n/gm, '') }).toMatchObject({ code: null, signal: 'SIGKILL' });
}

/** Runs the import CLI to its end, noting whether `file` was there while its one write transaction ran (polled every few milliseconds). */
async function importWatching(args: string[], file: string): Promise<{ status: number | null; seen: boolean }> {
  const child = spawn(process.execPath, [CLI('import'), ...args], { cwd: projectRoot, env: cliEnv() });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let seen = false;
  const poll = setInterval(() => (seen ||= stderr.includes(WRITING) && existsSync(file)), 2);
  const [status] = (await once(child, 'exit')) as [number | null];
  clearInterval(poll);
  return { status, seen };
}

describe('an import that has the SQLite file to itself', () => {
  const bigFile = () => path.join(dir, 'alone-big.jsonl');
  beforeAll(() => writeFileSync(bigFile(), people(10_000, 13).map((p) => `${JSON.stringify(formatPersonRecord(p))}\n`).join('')));

  itOnSqlite('commits with a rollback journal, and leaves the file in WAL mode with no journal beside it', async () => {
    const db = path.join(dir, 'alone-1.sqlite');
    const imported = await importWatching([bigFile(), '--db', db], `${db}-journal`);
    expect(imported).toEqual({ status: 0, seen: true });
    expect(headerJournal(db)).toBe('wal');
    expect(existsSync(`${db}-journal`)).toBe(false);
    expect(existsSync(`${db}-wal`)).toBe(false);
  });

  itOnSqlite('killed in its commit, leaves the register as it was: the journal is played back when the file is next opened', async () => {
    const db = path.join(dir, 'alone-2.sqlite');
    expect(run('import', [path.join(projectRoot, 'test/fixtures/register/personer.json'), '--db', db], {}).status).toBe(0);
    // Killed once its journal is there: the commit has begun to write into the file.
    await killedImport([bigFile(), '--db', db], {}, `${db}-journal`);
    // The import had switched the file to a rollback journal: no other connection had it open.
    expect(headerJournal(db)).toBe('rollback');
    expect(existsSync(`${db}-journal`)).toBe(true);
    const reopened = openSqliteDatabase(db);
    try {
      expect(reopened.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(reopened.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(reopened.sqlite.prepare('select count(*) n, max(change_number) last from person').get()).toEqual({ n: 4, last: 4 });
      expect(reopened.sqlite.prepare('select count(*) n from person_lookup').get()).toEqual({ n: 4 });
    } finally {
      reopened.close();
    }
    expect(existsSync(`${db}-journal`)).toBe(false);
  });
});

describe('an import killed in the middle of its write', () => {
  let register: TestRegister;
  beforeAll(async () => {
    register = await createTestRegister();
  });
  afterAll(() => register?.close());

  it('leaves the register exactly as it was (SIGKILL), and the database intact', async () => {
    await register.put(...people(20, 3));
    const before = await contents(register);
    // Large enough that the one write transaction takes a while; small enough to stay quick.
    const file = path.join(dir, 'big.jsonl');
    writeFileSync(file, people(10_000, 11).map((p) => `${JSON.stringify(formatPersonRecord(p))}\n`).join(''));
    await register.database.release();

    await killedImport([file], register.database.env);

    if (storeUnderTest === 'sqlite') {
      // The service's connection had the file open: the import kept to WAL.
      expect(headerJournal(register.database.dbPath!)).toBe('wal');
      expect(await register.database.query('pragma integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      expect(await register.database.query('pragma foreign_key_check')).toEqual([]);
    } else {
      // The killed session's transaction is rolled back once the server notices it is gone.
      await waitForNoSessions(register.database, 'krr-graphql');
      // null: no amcheck on this server (amcheck itself fails under CI=true instead).
      expect((await amcheck(register.database)) ?? []).toEqual([]);
    }
    expect(await contents(register)).toEqual(before);
    // And the register still takes an import: the next change number follows on.
    const again = run('import', [path.join(projectRoot, 'test/fixtures/register/personer.json')], register.database.env);
    expect(again.stderr).toMatch(/\(change numbers 21-24\)/);
    expect(again.status).toBe(0);
  }, 120_000);
});
