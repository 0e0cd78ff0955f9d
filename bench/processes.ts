/**
 * Child processes of the benchmark: the built service and the limit server, each in a
 * process group of its own (so cluster workers go with it), all stopped when the benchmark
 * ends, fails or is interrupted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Running {
  name: string;
  child: ChildProcess;
  pid: number;
  /** `http://127.0.0.1:PORT` */
  base: string;
  url: string;
  /** The agency token the service printed (the limit server prints none). */
  token: string | null;
  output(): string;
}

const running = new Set<Running>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

let signalsHandled = false;
/**
 * Ctrl-C or SIGTERM ends the run through `process.exit`, so every 'exit' handler runs on the
 * way out (the child processes' below, the throwaway PostgreSQL cluster's in stores.ts).
 */
export function exitOnSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping\n`);
      process.exit(130);
    });
  }
}

let cleanupInstalled = false;
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const r of running) killGroup(r.pid, 'SIGKILL');
  });
  exitOnSignals();
}

/**
 * Starts `node <script>` and waits until its output says where it listens
 * (`serving http://...` or, with LOG_LEVEL=warn, `Open http://...` from the service; `listening http://...` from the limit server).
 */
export function start(name: string, script: string, env: Record<string, string>, needsToken: boolean, timeoutMs = 120_000, nodeArgs: readonly string[] = []): Promise<Running> {
  installCleanup();
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  return new Promise((resolve, reject) => {
    const fail = (message: string) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (child.pid) killGroup(child.pid, 'SIGKILL');
      reject(new Error(`${name}: ${message}\n${out.slice(-4000)}`));
    };
    const timer = setTimeout(() => fail(`not listening within ${timeoutMs} ms`), timeoutMs);
    child.once('exit', (code) => fail(`exited with ${code} before it was ready`));
    child.once('error', (error) => fail(error.message));
    const poll = setInterval(() => {
      const url = /(?:serving|listening|Open) (http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(out)?.[1];
      const token = /"Authorization": "Bearer ([^"]+)"/.exec(out)?.[1] ?? null;
      if (!url || (needsToken && !token) || !child.pid) return;
      clearInterval(poll);
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const r: Running = { name, child, pid: child.pid, base: url.replace(/\/graphql$/, ''), url, token, output: () => out };
      running.add(r);
      resolve(r);
    }, 50);
  });
}

/** SIGTERM (the service drains and closes the database), SIGKILL after `graceMs`. */
export async function stop(r: Running, graceMs = 15_000): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) {
    running.delete(r);
    return;
  }
  const exited = new Promise<void>((resolve) => r.child.once('exit', () => resolve()));
  killGroup(r.pid, 'SIGTERM');
  const timer = setTimeout(() => killGroup(r.pid, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // Cluster workers may outlive the primary by a moment.
  killGroup(r.pid, 'SIGKILL');
  running.delete(r);
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** The process and its descendants (a cluster primary and its workers), at most 64. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length && out.length < 64; i++) out.push(...childrenOf(out[i]));
  return out;
}

/** Resident memory of one process (VmRSS), kB. */
function rssKb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of the whole tree, MB. */
export function treeRssMb(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + rssKb(p), 0) / 1024;
}

/** Samples the tree's RSS every `everyMs` until stopped; returns the samples (MB). */
export function sampleRss(pid: number, everyMs: number): { stop(): number[] } {
  const samples: number[] = [treeRssMb(pid)];
  const timer = setInterval(() => samples.push(treeRssMb(pid)), everyMs);
  return {
    stop() {
      clearInterval(timer);
      samples.push(treeRssMb(pid));
      return samples;
    },
  };
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, ms) of a process tree: each live process's own time plus the
 * time of children it has reaped, so processes that came and went (connections, cluster
 * workers) still count. 0 where /proc cannot be read.
 */
export function treeCpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      // The fields after "(comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // gone meanwhile
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** The parent process id, or null. */
export function parentPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) || null;
  } catch {
    return null;
  }
}
