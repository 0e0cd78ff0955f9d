/**
 * SQLite migration 0007 on a register that already holds people: each certificate value
 * moves into `certificate` once, the mailbox and read-model rows keep its id, and the
 * read model's triggers (made again by 0007) go on keeping `person_lookup` in step.
 * (PostgreSQL's 0008 is applied to an empty register by every PostgreSQL test.)
 */
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrationsFolder } from '../../src/paths';
import { migrationsBefore } from '../support/migrations';
import { idSupply } from '../support/people';

describe('migration 0007 (certificates once) on a register that holds people', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'krr-migrate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('moves each value into certificate once, keeps the ids in the rows, and the triggers keep working', () => {
    const sqlite = new Database(path.join(dir, 'krr.sqlite'));
    migrate(drizzle(sqlite), { migrationsFolder: migrationsBefore(migrationsFolder, dir, 7) });
    const at = Date.UTC(2026, 0, 10);
    const newId = idSupply(3, 7007);
    const ids = [newId(), newId(), newId()].sort();
    ids.forEach((id, i) => {
      sqlite.prepare('insert into change_log (person_id, changed_at, kind) values (?, ?, ?)').run(id, at, 'IMPORT');
      sqlite.prepare("insert into person (id, status, reserved, updated_at, change_number) values (?, 'ACTIVE', 0, ?, ?)").run(id, at, i + 1);
    });
    const post = sqlite.prepare("insert into digital_post (person_id, mailbox_address, provider_org_number, certificate) values (?, ?, '984661185', ?)");
    post.run(ids[0], 'a#AAAA', 'MIIBcertificateA==');
    post.run(ids[1], 'b#BBBB', 'MIIBcertificateA==');
    post.run(ids[2], 'c#CCCC', null);
    expect(sqlite.prepare('select certificate from person_lookup order by id').pluck().all()).toEqual(['MIIBcertificateA==', 'MIIBcertificateA==', null]);

    migrate(drizzle(sqlite), { migrationsFolder });
    expect(sqlite.prepare('select id, value from certificate').all()).toEqual([{ id: 1, value: 'MIIBcertificateA==' }]);
    expect(sqlite.prepare('select certificate_id from digital_post order by person_id').pluck().all()).toEqual([1, 1, null]);
    expect(sqlite.prepare('select certificate_id from person_lookup order by id').pluck().all()).toEqual([1, 1, null]);
    const columns = (table: string) => sqlite.prepare(`select name from pragma_table_info('${table}')`).pluck().all();
    expect(columns('digital_post')).not.toContain('certificate');
    expect(columns('person_lookup')).not.toContain('certificate');

    // A write after the migration: the remade trigger copies the mailbox's certificate id.
    sqlite.prepare("insert into certificate (value) values ('MIIBcertificateB==')").run();
    sqlite.prepare('update digital_post set certificate_id = 2 where person_id = ?').run(ids[2]);
    expect(sqlite.prepare('select certificate_id from person_lookup where id = ?').pluck().get(ids[2])).toBe(2);
    expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(sqlite.pragma('foreign_key_check')).toEqual([]);
    sqlite.close();
  });
});
