/**
 * Worker thread of `bulkSeed`: generates the population and posts it in batches of row
 * tuples, while the main thread writes. At most `ahead` batches are in flight; the main
 * thread sends a credit for each batch it has written.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { generatePopulation } from './generate';
import { toTuple, type PersonTuple } from './rows';

export interface WorkerInput {
  count: number;
  seed: number;
  nowMs: number;
  batchSize: number;
  ahead: number;
}

export type WorkerMessage = { rows: PersonTuple[] } | { done: true };

async function run(port: NonNullable<typeof parentPort>, input: WorkerInput): Promise<void> {
  let credits = input.ahead;
  let wake: (() => void) | null = null;
  port.on('message', () => {
    credits++;
    wake?.();
  });
  let rows: PersonTuple[] = [];
  const post = async () => {
    while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    credits--;
    port.postMessage({ rows } satisfies WorkerMessage);
    rows = [];
  };
  for (const record of generatePopulation({ count: input.count, seed: input.seed, now: new Date(input.nowMs) })) {
    rows.push(toTuple(record));
    if (rows.length === input.batchSize) await post();
  }
  if (rows.length > 0) await post();
  port.postMessage({ done: true } satisfies WorkerMessage);
  port.close();
}

if (parentPort) void run(parentPort, workerData as WorkerInput);
