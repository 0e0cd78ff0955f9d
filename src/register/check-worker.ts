/**
 * Reading and checking an import's file in a worker thread (`checkRecords` there), while
 * the main thread stages the rows it sends: the two halves of an import's first pass then
 * run on two cores instead of taking turns on one. The worker sends staging rows (plain
 * arrays of strings and numbers, each certificate value once: `StagingBatch`), at most
 * `AHEAD` batches ahead of the stager; the main thread sends a credit for each batch it has
 * staged, so memory stays bounded when the store is the slower half.
 *
 * The same file is the worker's entry (run compiled, `dist/`) and the main thread's side
 * (`checkInWorker`). A file that cannot be read or is not register JSON fails in the worker
 * with the same errors as in the main thread (`FileReadError`, `RegisterFileError`).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { checkRecords, type CheckedBatch } from './import';
import { FileReadError, openRegisterFile, RegisterFileError, type FilePart } from './register-file';

/** Batches the worker may have sent that the stager has not yet taken. */
const AHEAD = 4;

interface WorkerInput {
  krrCheckWorker: true;
  file: string;
  nowMs: number;
  /** The part of the file this worker reads (JSON Lines), or none: the whole file. */
  part: FilePart | null;
  /** The file's size when the import opened it: every thread reads that many bytes. */
  size: number;
}

type Failure = { name: 'FileReadError'; file: string; code: string } | { name: 'RegisterFileError' | 'Error'; message: string };

type WorkerMessage = { checked: CheckedBatch } | { done: true } | { failed: Failure };

function failureOf(error: unknown): Failure {
  if (error instanceof FileReadError) return { name: 'FileReadError', file: error.file, code: error.code };
  if (error instanceof RegisterFileError) return { name: 'RegisterFileError', message: error.message };
  return { name: 'Error', message: (error as Error)?.message ?? String(error) };
}

function errorOf(failure: Failure): Error {
  if (failure.name === 'FileReadError') return new FileReadError(failure.file, failure.code);
  if (failure.name === 'RegisterFileError') return new RegisterFileError(failure.message);
  return new Error(failure.message);
}

const WORKER_FILE = __filename;

/** Whether the checking can run in worker threads: compiled JavaScript (under ts-jest the sources are TypeScript). */
export const canCheckInWorker = () => WORKER_FILE.endsWith('.js') && existsSync(WORKER_FILE);

/**
 * How many threads read a JSON Lines file: as many as there are cores, two at least (on
 * two cores the stager takes less than a third of one) and four at most.
 */
export const checkingThreads = () => Math.min(4, Math.max(2, availableParallelism()));

/** One worker thread and the messages it has sent that were not taken yet. */
class CheckingThread {
  readonly queue: WorkerMessage[] = [];
  failure: Error | null = null;
  readonly worker: Worker;

  constructor(input: WorkerInput, notify: () => void) {
    this.worker = new Worker(WORKER_FILE, { workerData: input });
    this.worker.on('message', (message: WorkerMessage) => {
      this.queue.push(message);
      notify();
    });
    this.worker.on('error', (error) => {
      this.failure ??= error;
      notify();
    });
    this.worker.on('exit', (code) => {
      this.failure ??= new Error(`the import's checking thread stopped (exit code ${code})`);
      notify();
    });
  }
}

/**
 * `checkRecords` of `file` in worker threads, the batches in file order as they come: a
 * JSON Lines file (`parts`) read by `checkingThreads()` threads side by side, each its own
 * groups of lines (`FilePart`), their batches taken in turn; a document by one. Ending the
 * iteration early (a failed write, Ctrl-C) stops the threads.
 */
export async function* checkInWorker(file: string, now: Date, parts: boolean, size: number): AsyncGenerator<CheckedBatch> {
  const of = parts ? checkingThreads() : 1;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const threads = Array.from({ length: of }, (_, index) => new CheckingThread({ krrCheckWorker: true, file, nowMs: now.getTime(), part: parts ? { index, of } : null, size }, notify));
  /** Each thread's counts so far: a part's batch counts its own records and problems only. */
  const counts = threads.map(() => ({ records: 0, problemCount: 0 }));
  try {
    for (let group = 0; ; group++) {
      const k = group % of;
      const thread = threads[k];
      let message = thread.queue.shift();
      while (!message) {
        if (thread.failure) throw thread.failure;
        await new Promise<void>((resolve) => (wake = resolve));
        message = thread.queue.shift();
      }
      // A part with no group `group` means the file has no more lines: every part is done.
      if ('done' in message) return;
      if ('failed' in message) throw errorOf(message.failed);
      const checked = message.checked;
      counts[k] = { records: checked.records, problemCount: checked.problemCount };
      yield {
        ...checked,
        records: counts.reduce((n, c) => n + c.records, 0),
        problemCount: counts.reduce((n, c) => n + c.problemCount, 0),
      };
      thread.worker.postMessage('credit');
    }
  } finally {
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}

async function run(port: NonNullable<typeof parentPort>, input: WorkerInput): Promise<void> {
  let credits = AHEAD;
  let wake: (() => void) | null = null;
  port.on('message', () => {
    credits++;
    wake?.();
    wake = null;
  });
  try {
    const part = input.part ?? undefined;
    const source = await openRegisterFile(input.file, part, input.size);
    for await (const checked of checkRecords(source, new Date(input.nowMs), part)) {
      while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
      credits--;
      port.postMessage({ checked } satisfies WorkerMessage);
    }
    port.postMessage({ done: true } satisfies WorkerMessage);
  } catch (error) {
    port.postMessage({ failed: failureOf(error) } satisfies WorkerMessage);
  } finally {
    port.close();
  }
}

if (!isMainThread && parentPort && (workerData as Partial<WorkerInput> | null)?.krrCheckWorker) void run(parentPort, workerData as WorkerInput);
