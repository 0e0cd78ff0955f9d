/**
 * Follower mode: keeps this service's register a copy of an upstream register by pulling
 * its change feed (`POST {upstream}/rest/v2/krr/hentEndringer`), page after page until
 * `tilEndringsId == sisteEndringsId`, then again every KRR_UPSTREAM_POLL_SECONDS.
 *
 * Invariants:
 * - A page and the position it leads to are written in one transaction
 *   (`RegisterStore.applyUpstreamPage`), and only if the stored position is still the one
 *   the page was asked after: a crash at any moment, or a second follower, can neither skip
 *   a page nor apply one on top of a position it was not asked from.
 * - While a page is written, the next one (after the page's `tilEndringsId`) is already
 *   asked for, so the upstream serves it meanwhile. It is applied only after the page it
 *   follows was, on top of that page's position; if that write fails or finds the position
 *   moved, the page asked ahead is dropped unread.
 * - A failure to reach the upstream (down, slow, 5xx, an answer that is not a feed page,
 *   no token), or to write a page, is retried with capped exponential backoff and jitter;
 *   the copy keeps serving.
 * - A page that is a feed answer but wrong (a bad person, numbers that go backwards) is not
 *   applied and not skipped: syncing stops with an error naming the position.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { UpstreamConfig } from '../config';
import type { Logger } from '../logger';
import { UpstreamMismatchError, type FollowerLock, type RegisterStore } from '../store/types';
import { CredentialError, tokenSource, type TokenSource } from './credentials';
import { readFeedAnswer } from './feed-page';

/** Why the upstream could not be read this time: asked again after a backoff. */
class UpstreamUnavailable extends Error {
  override name = 'UpstreamUnavailable';
}

/** An upstream answer, read: its JSON and when it came. */
interface Fetched {
  body: unknown;
  at: Date;
}

/** A page asked for: the position it was asked after, and its answer to come (a rejection already handled). */
interface Asked {
  after: number;
  answer: Promise<Fetched>;
}

export type FollowerState = 'starting' | 'waiting for the follower lock' | 'following' | 'stopped: invalid page' | 'stopped';

export interface FollowerOptions {
  tokens?: TokenSource;
  /** 0 <= random() < 1, for the jitter. */
  random?: () => number;
  /** The first backoff; doubled per failure up to `maxBackoffSeconds`. */
  baseBackoffMs?: number;
}

export class UpstreamFollower {
  state: FollowerState = 'starting';
  /** Set when syncing stopped on an invalid page. */
  stopReason: string | null = null;
  private readonly abort = new AbortController();
  private readonly tokens: TokenSource;
  private readonly random: () => number;
  private readonly baseBackoffMs: number;
  private running: Promise<void> | null = null;
  private failures = 0;

  constructor(
    private readonly store: RegisterStore,
    private readonly config: UpstreamConfig,
    private readonly logger: Logger,
    options: FollowerOptions = {},
  ) {
    this.tokens = options.tokens ?? tokenSource(config.credentials, config.timeoutMs);
    this.random = options.random ?? Math.random;
    this.baseBackoffMs = options.baseBackoffMs ?? 1000;
  }

  start(): void {
    this.running ??= this.run().catch((error: unknown) => {
      if (this.abort.signal.aborted) return;
      this.state = 'stopped';
      this.logger.error({ err: error, upstream: this.config.url }, 'following the upstream failed; syncing stopped (the copy keeps serving)');
    });
  }

  /** Stops between two requests (a page being written is finished first). */
  async stop(): Promise<void> {
    this.abort.abort(new Error('stopping'));
    await this.running;
    this.state = 'stopped';
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      this.state = 'waiting for the follower lock';
      const lock = await this.store.followerLock(signal);
      try {
        this.state = 'following';
        this.logger.info({ upstream: this.config.url }, 'following the upstream register');
        const stopped = await this.follow(lock, signal);
        if (stopped) return;
      } finally {
        await lock.release();
      }
      if (!signal.aborted) this.logger.warn('lost the follower lock; waiting for it again');
    }
  }

  /** Follows while the lock is held; true when syncing must stop for good. */
  private async follow(lock: FollowerLock, signal: AbortSignal): Promise<boolean> {
    const stored = await this.store.upstreamPosition();
    let position = stored?.position ?? this.config.startAfter;
    /** The page after `position`, asked for while the previous one was written. */
    let ahead: Asked | null = null;
    while (!signal.aborted && lock.held()) {
      let caughtUp = false;
      try {
        const asked: Asked = ahead?.after === position ? ahead : await this.ask(position, signal);
        ahead = null;
        const { body, at } = await asked.answer;
        const answer = readFeedAnswer(body, this.config.url, position, at);
        if (answer.kind === 'garbage') throw new UpstreamUnavailable(answer.reason);
        if (answer.kind === 'invalid') {
          this.state = 'stopped: invalid page';
          this.stopReason = `the page from fraEndringsId ${position + 1} failed validation: ${answer.reason}`;
          this.logger.error({ upstream: this.config.url, position, fraEndringsId: position + 1, reason: answer.reason }, 'an upstream page failed validation: not applied, not skipped; syncing stopped');
          return true;
        }
        if (!lock.held()) break;
        const { page } = answer;
        if (page.to < page.latest) {
          // The next page is asked for now and served while this one is written. One turn of
          // the event loop puts the request on the wire before a synchronous (SQLite) write.
          ahead = await this.ask(page.to, signal);
          await nextTurn();
        }
        if (await this.store.applyUpstreamPage(page)) {
          if (page.records.length > 0) this.logger.debug({ from: position + 1, to: page.to, latest: page.latest, people: page.records.length }, 'applied an upstream page');
          position = page.to;
          caughtUp = page.to >= page.latest;
        } else {
          // Another follower moved the position meanwhile: continue from where it is.
          ahead = null;
          position = (await this.store.upstreamPosition())?.position ?? position;
          this.logger.warn({ position }, 'the position moved under this follower; continuing from the stored one');
        }
        if (this.failures > 0) this.logger.info({ afterFailures: this.failures }, 'the upstream answers again');
        this.failures = 0;
      } catch (error) {
        ahead = null;
        if (signal.aborted) break;
        if (error instanceof UpstreamMismatchError) throw error;
        this.failures++;
        const delay = this.backoffMs();
        if (error instanceof UpstreamUnavailable || error instanceof CredentialError) {
          this.logger.warn({ upstream: this.config.url, position, attempt: this.failures, retryInMs: delay, reason: error.message }, 'the upstream could not be read; retrying');
        } else {
          // The database (or a bug): the page was not applied, so asking again from the same position is safe.
          this.logger.error({ err: error, position, attempt: this.failures, retryInMs: delay }, 'could not apply an upstream page; retrying');
        }
        await sleep(delay, undefined, { signal }).catch(() => {});
        continue;
      }
      if (caughtUp) await sleep(this.config.pollSeconds * 1000, undefined, { signal }).catch(() => {});
    }
    return false;
  }

  /**
   * Asks for the page after `after`: resolves once the token is there and the request is
   * made, with its answer to come. The answer's rejection is handled here (a page asked
   * ahead and then dropped fails nobody); whoever awaits it still sees it.
   */
  private async ask(after: number, signal: AbortSignal): Promise<Asked> {
    let answer: Promise<Fetched>;
    try {
      answer = this.fetchPage(await this.tokens.token(), after, signal);
    } catch (error) {
      answer = Promise.reject(error as Error);
    }
    answer.catch(() => {});
    return { after, answer };
  }

  /** Capped exponential backoff with jitter: a random time from half the step to the whole step. */
  private backoffMs(): number {
    const step = Math.min(this.config.maxBackoffSeconds * 1000, this.baseBackoffMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(step / 2 + (this.random() * step) / 2);
  }

  private async fetchPage(token: string, after: number, signal: AbortSignal): Promise<Fetched> {
    const url = `${this.config.url}/rest/v2/krr/hentEndringer`;
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    let text: string;
    let status: number;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ fraEndringsId: after + 1 }),
        signal: AbortSignal.any([signal, timeout]),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw error;
      const why = timeout.aborted ? `no answer within ${this.config.timeoutMs} ms` : (error as Error).message;
      throw new UpstreamUnavailable(`POST ${url}: ${why}`);
    }
    if (status === 401) this.tokens.refused();
    if (status !== 200) throw new UpstreamUnavailable(`POST ${url} answered HTTP ${status}: ${text.slice(0, 200)}`);
    try {
      return { body: JSON.parse(text), at: new Date() };
    } catch {
      throw new UpstreamUnavailable(`POST ${url} answered something that is not JSON`);
    }
  }
}
