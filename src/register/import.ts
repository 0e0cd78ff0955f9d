/**
 * Importing people from files in the register's own JSON: a lookup response
 * (`{"personer":[...]}`), a change-feed page (`{"list":[...]}`) or JSON Lines, of any size.
 *
 * All or nothing, in one pass and bounded memory: each record is checked as it is read and
 * the good ones are staged in the store (`RegisterStore.startBulkImport`), which writes them
 * into the register only at `commit`, in one transaction. One bad record, an interrupted run
 * or a failed write leaves the register exactly as it was.
 */
import { StagingRows, type StagingBatch } from '../store/bulk-rows';
import type { BulkImport, RegisterStore, StagedPerson } from '../store/types';
import type { FilePart, RegisterEntry, RegisterFileShape, RegisterSource } from './register-file';
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
  shape?: RegisterFileShape;
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

/** A batch of checked records, as `checkRecords` yields them. */
export interface CheckedBatch {
  /** Staging rows of good records, while every record so far is good; null when there are none to stage yet. */
  rows: StagingBatch | null;
  /** Problems first found in this batch (the first `MAX_REPORTED_PROBLEMS` of the file only). */
  problems: ImportProblem[];
  /** Bad records so far, in all. Once there is one, nothing will be written. */
  problemCount: number;
  /** Records read so far, good and bad. */
  records: number;
  bytesRead: number;
  totalBytes: number;
  /** The file's shape as known so far (a document's is named once its array is found). */
  shape?: RegisterFileShape;
}

/**
 * Reads and checks every record of `source`, in file order, into staging rows (`StagingRows`:
 * one run, so a certificate's number means one value throughout). Pure: it writes nothing,
 * so it can run in a worker thread beside the thread that stages (`checkInWorker`).
 */
export async function* checkRecords(
  source: Pick<RegisterSource, 'batches'> & Partial<RegisterSource>,
  now: Date,
  part?: FilePart,
): AsyncGenerator<CheckedBatch> {
  const rows = new StagingRows(part);
  // A part yields one checked batch per batch of its source, so the parts' batches can be put back in file order.
  const stageBatch = part ? 1 : STAGE_BATCH;
  let problemCount = 0;
  let records = 0;
  let staged: StagedPerson[] = [];
  const checked = (problems: ImportProblem[], take: boolean): CheckedBatch => {
    const batch = take && problemCount === 0 && staged.length > 0 ? rows.batch(staged) : null;
    if (batch || problemCount > 0) staged = [];
    return { rows: batch, problems, problemCount, records, bytesRead: source.bytesRead?.() ?? 0, totalBytes: source.totalBytes ?? 0, shape: source.shape };
  };
  for await (const batch of source.batches) {
    const problems: ImportProblem[] = [];
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
    yield checked(problems, staged.length >= stageBatch);
  }
  if (!part && staged.length > 0 && problemCount === 0) yield checked([], true);
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
  return importChecked(store, checkRecords(source, now), now, options);
}

/**
 * `importPeople` of records checked elsewhere (`checkRecords`, perhaps in a worker thread:
 * `checkInWorker`): stages their rows as they come, while every record is good, and commits
 * them in one transaction at the end; writes nothing when any is bad.
 */
export async function importChecked(
  store: Pick<RegisterStore, 'startBulkImport'>,
  checked: AsyncIterable<CheckedBatch>,
  now: Date,
  options: ImportOptions = {},
): Promise<ImportSummary | RejectedImport> {
  const problems: ImportProblem[] = [];
  let last: CheckedBatch | null = null;
  let bulk: BulkImport | null = null;
  const progress = (phase: ImportProgress['phase'], c: CheckedBatch | null) =>
    options.onProgress?.({ phase, records: c?.records ?? 0, problems: c?.problemCount ?? 0, bytesRead: c?.bytesRead ?? 0, totalBytes: c?.totalBytes ?? 0, shape: c?.shape });
  try {
    for await (const batch of checked) {
      if (options.cancelled?.()) throw new ImportCancelled('the import was interrupted; nothing was written');
      last = batch;
      for (const problem of batch.problems) if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(problem);
      if (batch.problemCount > 0) {
        await bulk?.abort();
        bulk = null;
      } else if (batch.rows) {
        bulk ??= await store.startBulkImport('IMPORT', now);
        await bulk.stage(batch.rows);
      }
      progress('checking', batch);
    }
    const records = last?.records ?? 0;
    if (last && last.problemCount > 0) return { ok: false, problems, problemCount: last.problemCount, records };
    if (options.cancelled?.()) throw new ImportCancelled('the import was interrupted; nothing was written');
    bulk ??= await store.startBulkImport('IMPORT', now);
    progress('writing', last);
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
