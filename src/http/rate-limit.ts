import { createHash } from 'node:crypto';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Viewer } from '../auth/viewer';
import { ErrorCode, refused } from '../errors';

/** Who a request counts against: the agency's organisation, the citizen, or (anonymous) the client address. */
export function rateLimitKey(viewer: Viewer, clientIp: string | undefined): { kind: 'agency' | 'citizen' | 'anonymous'; key: string } {
  if (viewer.kind === 'agency') return { kind: 'agency', key: `org:${viewer.orgNumber}` };
  // Hashed so the limiter's memory holds no identity numbers.
  if (viewer.kind === 'citizen') return { kind: 'citizen', key: `pid:${createHash('sha256').update(viewer.pid).digest('base64url')}` };
  return { kind: 'anonymous', key: `ip:${clientIp ?? 'unknown'}` };
}

/**
 * Requests per minute per caller, a fixed window per key (rate-limiter-flexible). The store
 * says where the counts live (`RegisterStore.rateLimiter`): in PostgreSQL, shared by every
 * replica; with SQLite in this process's memory. `perMinute` 0 turns it off, for
 * benchmarks and for operators who limit at their load balancer.
 */
export class RequestRateLimiter {
  private readonly limiter: RateLimiterAbstract | null;

  constructor(
    readonly perMinute: number,
    /** Makes the limiter: `RegisterStore.rateLimiter`. */
    limiterFor: (points: number, durationSeconds: number) => RateLimiterAbstract,
    private readonly onRefused: (kind: string) => void = () => {},
  ) {
    this.limiter = perMinute > 0 ? limiterFor(perMinute, 60) : null;
  }

  /** Counts `points` requests against the caller; throws RATE_LIMITED (HTTP 429, Retry-After) past the limit. */
  async take(viewer: Viewer, clientIp: string | undefined, points = 1): Promise<void> {
    if (!this.limiter) return;
    const { kind, key } = rateLimitKey(viewer, clientIp);
    try {
      await this.limiter.consume(key, points);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      this.onRefused(kind);
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw refused(ErrorCode.RATE_LIMITED, `Too many requests: at most ${this.perMinute} a minute. Try again in ${retryAfter} s`, { retryAfterSeconds: retryAfter });
    }
  }
}
