import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The migrations of `folder` (db/migrations or db/migrations-pg) before number `idx`, as a
 * folder in `dir` that drizzle's migrator reads: a register as an earlier release left it.
 */
export function migrationsBefore(folder: string, dir: string, idx: number): string {
  const target = path.join(dir, `${path.basename(folder)}-before-${idx}`);
  mkdirSync(path.join(target, 'meta'), { recursive: true });
  const journal = JSON.parse(readFileSync(path.join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: { idx: number; tag: string }[] };
  journal.entries = journal.entries.filter((e) => e.idx < idx);
  writeFileSync(path.join(target, 'meta', '_journal.json'), JSON.stringify(journal));
  const files = new Set(journal.entries.map((e) => `${e.tag}.sql`));
  for (const file of readdirSync(folder)) if (files.has(file)) copyFileSync(path.join(folder, file), path.join(target, file));
  return target;
}
