/**
 * Importing people from files in the register's own JSON: a lookup response
 * (`{"personer":[...]}`), a change-feed page (`{"list":[...]}`) or JSON Lines, of any size.
 *
 * All or nothing, in one pass and bounded memory: each record is checked as it is read and
 * the good ones are staged in the store (`RegisterStore.startBulkImport`), which writes them
 * into the register only at `commit`, in one transaction. One bad record, an interrupted run
 * or a failed write leaves the register exactly as it was.
 */
import type { BulkImport, RegisterStore, StagedPerson } from '../store/types';
import type { RegisterEntry, RegisterSource } from './register-file';
import { parseRegisterPerson } from './register-format';

export { FileReadError, openRegisterFile, RegisterFileError, registerText } from './register-file';
export type { RegisterEntry, RegisterFileShape, RegisterSource } from './register-file';

export const MAX_REPORTED_PROBLEMS = 50;
/** People handed to the store at a time. */
const STAGE_BATCH = 5000;

export interface ImportProblem {
  position: number;
  reason: string;
}

export interface RejectedImport {
  ok: false;
  /** The first `MAX_REPORTED_PROBLEMS` problems, in file order. */
  problems: ImportProblem[];
  problemCount: number;
  /** Records read, good and bad. */
  records: number;
}

export interface ImportSummary {
  ok: true;
  /** People written (the last record of each person in the file). */
  imported: number;
  /** People whose last record says IKKE_REGISTRERT: not written. */
  skippedNotRegistered: number;
  /** Records overridden by a later record of the same person in the file. */
  duplicatesInFile: number;
  /** The change numbers the import took, or null when it wrote nobody. */
  changeNumbers: { first: number; last: number } | null;
  records: number;
}

export interface ImportProgress {
  /** `checking`: reading, checking and staging records; `writing`: the one transaction into the register. */
  phase: 'checking' | 'writing';
  records: number;
  problems: number;
  bytesRead: number;
  totalBytes: number;
}

export interface ImportOptions {
  onProgress?: (progress: ImportProgress) => void;
  /** Checked between batches: once true, the import stops and writes nothing (Ctrl-C). */
  cancelled?: () => boolean;
}

/** The import was stopped (`ImportOptions.cancelled`) before it wrote anything. */
export class ImportCancelled extends Error {
  override name = 'ImportCancelled';
}

/** Records already in memory, as a source (tests, callers that built them). */
export function fromEntries(entries: readonly RegisterEntry[]): Pick<RegisterSource, 'batches'> {
  return {
    batches: (async function* () {
      yield [...entries];
    })(),
  };
}

/**
 * Checks every record of `source` and, when all are good, writes them into the register in
 * one transaction; when any is bad, writes nothing and returns the first problems. A person
 * given twice takes the later record, at the later place; `IKKE_REGISTRERT` as a person's
 * last record leaves their entry as it is. Each person written takes one new change number,
 * in file order. `now` is the change time, and a person's `updatedAt` when their record has
 * no timestamp at all.
 */
export async function importPeople(
  store: Pick<RegisterStore, 'startBulkImport'>,
  source: Pick<RegisterSource, 'batches'> & Partial<RegisterSource>,
  now: Date,
  options: ImportOptions = {},
): Promise<ImportSummary | RejectedImport> {
  const problems: ImportProblem[] = [];
  let problemCount = 0;
  let records = 0;
  let bulk: BulkImport | null = null;
  let staged: StagedPerson[] = [];
  const progress = (phase: ImportProgress['phase']) =>
    options.onProgress?.({ phase, records, problems: problemCount, bytesRead: source.bytesRead?.() ?? 0, totalBytes: source.totalBytes ?? 0 });
  try {
    for await (const batch of source.batches) {
      if (options.cancelled?.()) throw new ImportCancelled('the import was interrupted; nothing was written');
      for (const entry of batch) {
        records++;
        const result = 'malformed' in entry ? { ok: false as const, reason: entry.malformed } : parseRegisterPerson(entry.value, entry.position, now);
        if (!result.ok) {
          if (++problemCount <= MAX_REPORTED_PROBLEMS) problems.push({ position: entry.position, reason: result.reason });
        } else if (problemCount === 0) {
          // Once a record is bad nothing will be written: the rest are only checked.
          staged.push('record' in result ? result.record : { id: result.id, notRegistered: true });
        }
      }
      if (problemCount > 0 && bulk) {
        await bulk.abort();
        bulk = null;
      }
      if (problemCount === 0 && staged.length >= STAGE_BATCH) {
        bulk ??= await store.startBulkImport('IMPORT', now);
        await bulk.stage(staged);
        staged = [];
      }
      if (problemCount > 0) staged = [];
      progress('checking');
    }
    if (problemCount > 0) return { ok: false, problems, problemCount, records };
    if (options.cancelled?.()) throw new ImportCancelled('the import was interrupted; nothing was written');
    bulk ??= await store.startBulkImport('IMPORT', now);
    if (staged.length > 0) await bulk.stage(staged);
    staged = [];
    progress('writing');
    const result = await bulk.commit();
    bulk = null;
    return {
      ok: true,
      imported: result.written,
      skippedNotRegistered: result.notRegistered,
      duplicatesInFile: result.overridden,
      changeNumbers: result.changeNumbers,
      records,
    };
  } finally {
    await bulk?.abort();
  }
}
