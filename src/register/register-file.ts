/**
 * Reading a file of the register's own JSON as a stream of records, in bounded memory
 * whatever its size: JSON Lines line by line (`JSON.parse` per line), and the two document
 * shapes (`{"personer":[...]}`, `{"list":[...]}`) with stream-json's streaming parser, one
 * array element at a time. Nothing here knows what a person is; `import.ts` checks each record.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import chain from 'stream-chain';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { maskIdentityNumbersIn } from '../domain/identity-number';

export type RegisterFileShape = 'lookup response' | 'change-feed page' | 'JSON Lines';

/** One record of a file: its JSON, or why its line is not JSON. */
export type RegisterEntry = { position: number; value: unknown } | { position: number; malformed: string };

/** The file as a whole is not one of the three shapes; nothing in it can be read. */
export class RegisterFileError extends Error {
  override name = 'RegisterFileError';
}

/** The file cannot be read at all (missing, a directory, no permission, an I/O error). */
export class FileReadError extends Error {
  override name = 'FileReadError';
  constructor(
    readonly file: string,
    readonly code: string,
  ) {
    super(`cannot read ${file}: ${describeReadError(code)}`);
  }
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file (ENOENT)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'permission denied (EPERM)',
  EISDIR: 'it is a directory, not a file (EISDIR)',
  EIO: 'input/output error (EIO)',
};
const describeReadError = (code: string) => READ_ERRORS[code] ?? code;

function readError(file: string, error: unknown): FileReadError {
  const e = error as NodeJS.ErrnoException;
  return new FileReadError(file, e.code ?? e.message);
}

/** A register file opened for reading: its shape, and its records in file order, in batches. */
export interface RegisterSource {
  shape: RegisterFileShape;
  /** How a position is named in messages: an array index or a line number. */
  unit: 'record' | 'line';
  /** The records in batches of a few thousand (JSON Lines: per chunk read). Read once. */
  batches: AsyncIterable<RegisterEntry[]>;
  /** Bytes read so far and the file's size, for progress (0 and 0 for text in memory). */
  bytesRead(): number;
  readonly totalBytes: number;
  /** Whether the file can be read in parts (`FilePart`): JSON Lines can, documents cannot. */
  readonly parts?: boolean;
}

/** Longer lines are reported as malformed instead of being held in memory. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
/** How much of a file decides its shape: its first line, if the line ends within this. */
const PEEK_BYTES = 1024 * 1024;
/** A broken document up to this size is read again whole to name the line and column of the fault. */
const LOCATE_ERRORS_UP_TO = 64 * 1024 * 1024;
const BATCH = 2000;
const READ_CHUNK = 1024 * 1024;

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
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; offset: number; what: string } {
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

function lineEntry(line: string, position: number): RegisterEntry {
  const parsed = parseJson(line);
  return parsed.ok ? { position, value: parsed.value } : { position, malformed: `malformed JSON at column ${parsed.offset + 1}: ${parsed.what}` };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isWrapper = (value: unknown) => isObject(value) && ('personer' in value || 'list' in value);

/** Text chunks of a file (or of text in memory), the BOM dropped, counting the bytes read. */
async function* textChunks(input: Readable, counted: (bytes: number) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    counted(buffer.length);
    let text = decoder.write(buffer);
    if (first && text.length > 0) {
      text = text.replace(/^\uFEFF/, '');
      first = false;
    }
    if (text) yield text;
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

/**
 * Which lines of a JSON Lines file one reader reads (`openRegisterFile(file, part)`), so that
 * several threads can read one file side by side: its lines in groups of `LINES_PER_GROUP`,
 * group g read by part `g % of`. The others' lines are counted (positions stay the file's
 * line numbers) but not parsed.
 */
export interface FilePart {
  index: number;
  of: number;
}

/** Lines a group of a JSON Lines file (`FilePart`), and a batch of one read whole. */
export const LINES_PER_GROUP = BATCH;

/**
 * JSON Lines, line by line: blank lines skipped, a line too long to hold reported as
 * malformed; a batch per group of `LINES_PER_GROUP` lines. With `part`, only that part's
 * groups are read, and each of them yields a batch, empty or not (one batch per group, in
 * order: how the parts' batches are put back in file order).
 */
async function* jsonLinesBatches(chunks: AsyncIterable<string>, part?: FilePart): AsyncGenerator<RegisterEntry[]> {
  let carry = '';
  let lineNumber = 0;
  let overlong = false; // inside a line that is too long: dropped up to its end
  let batch: RegisterEntry[] = [];
  let done: RegisterEntry[][] = [];
  const mine = (line: number) => !part || Math.floor((line - 1) / LINES_PER_GROUP) % part.of === part.index;
  const take = (line: string) => {
    lineNumber++;
    if (mine(lineNumber)) {
      if (overlong) batch.push({ position: lineNumber, malformed: `the line is longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB` });
      else {
        const text = line.endsWith('\r') ? line.slice(0, -1) : line;
        if (text.trim() !== '') batch.push(lineEntry(text, lineNumber));
      }
      if (lineNumber % LINES_PER_GROUP === 0) {
        if (part || batch.length > 0) done.push(batch);
        batch = [];
      }
    }
    overlong = false;
  };
  for await (const chunk of chunks) {
    const lines = (carry + chunk).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) take(line);
    if (carry.length > MAX_LINE_BYTES) {
      overlong = true;
      carry = '';
    }
    yield* done;
    done = [];
  }
  if (carry !== '' || overlong) take(carry);
  yield* done;
  // The last group, unless it ended on its last line (then it is in `done` already).
  if (lineNumber % LINES_PER_GROUP !== 0 && mine(lineNumber) && (part || batch.length > 0)) yield batch;
}

/** Names the line and column of a fault in a document, read again whole (small files only). */
async function locateFault(read: () => Readable): Promise<string | null> {
  let text = '';
  for await (const chunk of textChunks(read(), () => {})) text += chunk;
  const parsed = parseJson(text);
  if (parsed.ok) return null;
  const before = text.slice(0, parsed.offset);
  return `malformed JSON at line ${before.split('\n').length}, column ${parsed.offset - before.lastIndexOf('\n')}: ${parsed.what}`;
}

/**
 * A lookup response or change-feed page, element by element. The top level is watched
 * token by token: it must be an object with `personer` or `list` holding an array; its other
 * keys (`fraEndringsId`, `sisteEndringsId`, ...) describe the page and are ignored.
 */
async function* documentBatches(read: () => Readable, chunks: AsyncIterable<string>, size: number, found: (key: string) => void): AsyncGenerator<RegisterEntry[]> {
  let depth = 0;
  let lastTopKey: string | null = null;
  let topIsObject: boolean | null = null;
  let listKey: string | null = null;
  let notArray: string | null = null;
  const watch = (token: { name: string; value?: unknown }) => {
    if (depth === 0 && topIsObject === null && (token.name === 'startObject' || token.name === 'startArray' || token.name.endsWith('Value'))) {
      topIsObject = token.name === 'startObject';
    }
    if (depth === 1 && token.name === 'keyValue') lastTopKey = String(token.value);
    else if (depth === 1 && lastTopKey !== null && (lastTopKey === 'personer' || lastTopKey === 'list') && token.name !== 'startKey' && token.name !== 'endKey' && token.name !== 'stringChunk') {
      if (token.name === 'startArray') {
        listKey ??= lastTopKey;
        found(lastTopKey);
      } else notArray ??= lastTopKey;
      lastTopKey = null;
    } else if (depth === 1 && token.name !== 'startKey' && token.name !== 'endKey' && token.name !== 'stringChunk') lastTopKey = null;
    if (token.name === 'startObject' || token.name === 'startArray') depth++;
    else if (token.name === 'endObject' || token.name === 'endArray') depth--;
    return token;
  };
  const pipeline = chain([Readable.from(chunks), parser(), watch, pick({ filter: /^(personer|list)$/ }), streamArray()]);
  let batch: RegisterEntry[] = [];
  try {
    for await (const item of pipeline as AsyncIterable<{ key: number; value: unknown }>) {
      batch.push({ position: item.key + 1, value: item.value });
      if (batch.length === BATCH) {
        yield batch;
        batch = [];
      }
    }
  } catch (error) {
    if (notArray) throw new RegisterFileError(`"${notArray}" must be an array of persons`);
    const located = size <= LOCATE_ERRORS_UP_TO ? await locateFault(read) : null;
    throw new RegisterFileError(located ?? `malformed JSON: ${maskIdentityNumbersIn((error as Error).message)}`);
  }
  if (notArray) throw new RegisterFileError(`"${notArray}" must be an array of persons`);
  if (!topIsObject || !listKey) throw new RegisterFileError('expected {"personer": [...]}, {"list": [...]} or one person object per line (JSON Lines)');
  if (batch.length > 0) yield batch;
}

/** The first line of the text, if it ends (or the text ends) within `PEEK_BYTES`; null otherwise. */
function firstLine(head: string, wholeFile: boolean): string | null {
  const body = head.replace(/^\uFEFF/, '').replace(/^(\s*\n)+/, '');
  const end = body.indexOf('\n');
  if (end >= 0) return body.slice(0, end).replace(/\r$/, '');
  return wholeFile ? body : null;
}

/**
 * Opens a register file and recognises its shape from its first line: a person object
 * whole on the first line means JSON Lines; anything else is read as a document. Throws
 * `FileReadError` when the file cannot be read, `RegisterFileError` when it is empty; a
 * document that turns out to be none of the shapes throws `RegisterFileError` while its
 * batches are read.
 */
export async function openRegisterFile(file: string, part?: FilePart, expectedSize?: number): Promise<RegisterSource> {
  let size: number;
  let head: string;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    size = info.size;
    // Threads reading parts of one file must read the same bytes: the size the first saw, no more.
    if (expectedSize !== undefined && size < expectedSize) throw Object.assign(new Error('changed'), { code: 'it changed while the import read it' });
    if (expectedSize !== undefined) size = expectedSize;
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(PEEK_BYTES, size));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw readError(file, error);
  }
  let bytes = 0;
  const read = () => createReadStream(file, { highWaterMark: READ_CHUNK, end: size - 1 });
  const chunks = async function* () {
    try {
      yield* textChunks(read(), (n) => (bytes += n));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code) throw readError(file, error);
      throw error;
    }
  };
  return fromHead(head, size <= PEEK_BYTES, size, chunks, () => bytes, read, part);
}

/** The same for text in memory (tests, small files). */
export function registerText(text: string): RegisterSource {
  const chunks = async function* () {
    yield* textChunks(Readable.from([text]), () => {});
  };
  return fromHead(text.slice(0, PEEK_BYTES), text.length <= PEEK_BYTES, text.length, chunks, () => 0, () => Readable.from([text]));
}

function fromHead(
  head: string,
  wholeFile: boolean,
  size: number,
  chunks: () => AsyncIterable<string>,
  bytesRead: () => number,
  read: () => Readable,
  part?: FilePart,
): RegisterSource {
  if (wholeFile && head.replace(/^\uFEFF/, '').trim() === '') throw new RegisterFileError('the file is empty');
  const line = firstLine(head, wholeFile);
  const first = line === null ? null : parseJson(line);
  if (first?.ok && isObject(first.value) && !isWrapper(first.value)) {
    return { shape: 'JSON Lines', unit: 'line', batches: jsonLinesBatches(chunks(), part), bytesRead, totalBytes: size, parts: true };
  }
  if (part && part.index > 0) throw new Error('only JSON Lines can be read in parts');
  const source: RegisterSource = {
    // Named once the document's array is found; lookup response until then (the usual one).
    shape: 'lookup response',
    unit: 'record',
    batches: documentBatches(read, chunks(), size, (key) => (source.shape = key === 'list' ? 'change-feed page' : 'lookup response')),
    bytesRead,
    totalBytes: size,
  };
  return source;
}
