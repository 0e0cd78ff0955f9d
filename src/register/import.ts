/**
 * Importing people from files in the register's own JSON: a lookup response
 * (`{"personer":[...]}`), a change-feed page (`{"list":[...]}`) or JSON Lines. All or
 * nothing: every record is checked before anything is written, and one bad record keeps
 * the whole file out.
 */
import { maskIdentityNumbersIn } from '../domain/identity-number';
import type { PersonRecord, RegisterStore } from '../store/types';
import { parseRegisterPerson } from './register-format';

export type RegisterFileShape = 'lookup response' | 'change-feed page' | 'JSON Lines';

/** One record of a file: its JSON, or why its line is not JSON. */
export type RegisterEntry = { position: number; value: unknown } | { position: number; malformed: string };

export interface RegisterFile {
  shape: RegisterFileShape;
  /** How a position is named in messages: an array index or a line number. */
  unit: 'record' | 'line';
  entries: RegisterEntry[];
}

/** The file as a whole is not one of the three shapes; nothing in it can be read. */
export class RegisterFileError extends Error {
  override name = 'RegisterFileError';
}

export const MAX_REPORTED_PROBLEMS = 50;

/** Whether `text` is broken rather than merely unfinished (a prefix of some valid JSON). */
function isBroken(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch (error) {
    const message = (error as Error).message;
    const at = /at position (\d+)/.exec(message);
    return !message.startsWith('Unexpected end') && !(at && Number(at[1]) >= text.length);
  }
}

/**
 * Where (offset) and why `text` is not JSON. V8 names the offset for most errors but not for
 * an unexpected token; then the shortest broken prefix, found by bisection, ends at it. V8
 * also quotes the text near the error, which may hold an identity number: the quote is dropped.
 */
function parseJson(text: string): { ok: true; value: unknown } | { ok: false; offset: number; what: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const message = (error as Error).message;
    const stated = /at position (\d+)/.exec(message);
    let offset = text.length;
    if (stated) offset = Number(stated[1]);
    else if (isBroken(text)) {
      let [low, high] = [0, text.length]; // the prefix of length `high` is broken, of length `low` not
      while (high - low > 1) {
        const mid = (low + high) >> 1;
        if (isBroken(text.slice(0, mid))) high = mid;
        else low = mid;
      }
      offset = high - 1;
    }
    const what = message.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
    return { ok: false, offset, what: maskIdentityNumbersIn(what) };
  }
}

function arrayEntries(list: unknown, key: string, shape: RegisterFileShape): RegisterFile {
  if (!Array.isArray(list)) throw new RegisterFileError(`"${key}" must be an array of persons`);
  return { shape, unit: 'record', entries: list.map((value, i) => ({ position: i + 1, value })) };
}

function jsonLines(text: string): RegisterFile {
  const entries: RegisterEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const parsed = parseJson(line);
    entries.push(
      parsed.ok ? { position: i + 1, value: parsed.value } : { position: i + 1, malformed: `malformed JSON at column ${parsed.offset + 1}: ${parsed.what}` },
    );
  });
  return { shape: 'JSON Lines', unit: 'line', entries };
}

/**
 * Recognises the file's shape and splits it into records. Other top-level keys of a
 * change-feed page (`fraEndringsId`, `sisteEndringsId`, ...) describe the page, not people,
 * and are ignored. Throws `RegisterFileError` when the file is none of the shapes.
 */
export function readRegisterFile(text: string): RegisterFile {
  const body = text.replace(/^\uFEFF/, '');
  const lines = body.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) throw new RegisterFileError('the file is empty');
  const whole = parseJson(body);
  if (!whole.ok) {
    // Several documents, the first one whole on its line: JSON Lines, perhaps with bad lines.
    if (lines.length > 1 && parseJson(lines[0]).ok) return jsonLines(body);
    const before = body.slice(0, whole.offset);
    const where = `line ${before.split('\n').length}, column ${whole.offset - before.lastIndexOf('\n')}`;
    throw new RegisterFileError(`malformed JSON at ${where}: ${whole.what}`);
  }
  const doc = whole.value;
  const isObject = typeof doc === 'object' && doc !== null && !Array.isArray(doc);
  if (isObject && 'personer' in doc) return arrayEntries(doc.personer, 'personer', 'lookup response');
  if (isObject && 'list' in doc) return arrayEntries(doc.list, 'list', 'change-feed page');
  if (isObject && lines.length === 1) return jsonLines(body);
  throw new RegisterFileError('expected {"personer": [...]}, {"list": [...]} or one person object per line (JSON Lines)');
}

export interface ImportProblem {
  position: number;
  reason: string;
}

export interface CheckedImport {
  ok: true;
  /** One record per person, the last of each in the file, in file order. */
  records: PersonRecord[];
  skippedNotRegistered: number;
  /** Records overridden by a later record of the same person in the file. */
  duplicatesInFile: number;
}

export interface RejectedImport {
  ok: false;
  /** The first `MAX_REPORTED_PROBLEMS` problems, in file order. */
  problems: ImportProblem[];
  problemCount: number;
}

export interface ImportSummary {
  imported: number;
  skippedNotRegistered: number;
  duplicatesInFile: number;
  /** The change numbers the import took, or null when it wrote nobody. */
  changeNumbers: { first: number; last: number } | null;
}

/** Checks every record without touching the database. */
export function planImport(entries: readonly RegisterEntry[], now: Date): CheckedImport | RejectedImport {
  const problems: ImportProblem[] = [];
  let problemCount = 0;
  // null: the person's last record in the file says IKKE_REGISTRERT.
  const byId = new Map<string, PersonRecord | null>();
  let duplicatesInFile = 0;
  for (const entry of entries) {
    const result = 'malformed' in entry ? { ok: false as const, reason: entry.malformed } : parseRegisterPerson(entry.value, entry.position, now);
    if (!result.ok) {
      if (++problemCount <= MAX_REPORTED_PROBLEMS) problems.push({ position: entry.position, reason: result.reason });
      continue;
    }
    const [id, record] = 'record' in result ? [result.record.id, result.record] : [result.id, null];
    if (byId.has(id)) duplicatesInFile++;
    // Deleted first so that the later record also takes the later place, and change number.
    byId.delete(id);
    byId.set(id, record);
  }
  if (problemCount > 0) return { ok: false, problems, problemCount };
  const last = [...byId.values()];
  const records = last.filter((r) => r !== null);
  return { ok: true, records, skippedNotRegistered: last.length - records.length, duplicatesInFile };
}

/** Writes checked records in one transaction: everyone, or (on any failure) nobody. */
export async function applyImport(store: RegisterStore, plan: CheckedImport, now: Date): Promise<ImportSummary> {
  const numbers = await store.replacePeople(plan.records, 'IMPORT', now);
  return {
    imported: plan.records.length,
    skippedNotRegistered: plan.skippedNotRegistered,
    duplicatesInFile: plan.duplicatesInFile,
    changeNumbers: numbers.length > 0 ? { first: numbers[0], last: numbers[numbers.length - 1] } : null,
  };
}

/** Checks every record, then writes all of them, or nothing when any is bad. */
export async function importPeople(store: RegisterStore, entries: readonly RegisterEntry[], now: Date): Promise<({ ok: true } & ImportSummary) | RejectedImport> {
  const plan = planImport(entries, now);
  return plan.ok ? { ok: true, ...(await applyImport(store, plan, now)) } : plan;
}
