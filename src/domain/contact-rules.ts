/**
 * The register's rules for when contact information may be used to notify a person.
 * Pure functions: the clock is always passed in.
 */

export const STALE_AFTER_MONTHS = 18;

/** What the rules need to know about one contact channel (email or mobile). */
export interface ChannelTimestamps {
  /** `_oppdatert`: the citizen last changed the address. */
  updatedAt: Date | null;
  /** `_sist_verifisert`: the citizen last confirmed the address is still right. */
  lastVerifiedAt: Date | null;
}

export type PersonStatus = 'ACTIVE' | 'DELETED' | 'NOT_REGISTERED';
export type NotificationStatus = 'CAN_BE_NOTIFIED' | 'CANNOT_BE_NOTIFIED';

/**
 * `now` minus 18 calendar months in UTC. Where the target month is shorter, the day is
 * clamped to its last day (31 August minus 18 months is 28 or 29 February).
 */
export function staleBefore(now: Date, months = STALE_AFTER_MONTHS): Date {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth() - months;
  const targetYear = y + Math.floor(m / 12);
  const targetMonth = ((m % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(targetYear, targetMonth + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      targetYear,
      targetMonth,
      Math.min(now.getUTCDate(), lastDay),
      now.getUTCHours(),
      now.getUTCMinutes(),
      now.getUTCSeconds(),
      now.getUTCMilliseconds(),
    ),
  );
}

/** The last `staleBefore(now)` worked out: a request judges thousands of channels against one `now`. */
let lastStale = { now: Number.NaN, limit: 0 };

/** `staleBefore(now).getTime()` for `now` in milliseconds. */
function staleLimit(now: number): number {
  if (now !== lastStale.now) lastStale = { now, limit: staleBefore(new Date(now)).getTime() };
  return lastStale.limit;
}

/**
 * The 18-month rule, judged per channel: usable when the channel was updated or confirmed
 * by the citizen at or after the instant 18 months before `now`. A channel touched exactly
 * 18 months ago is still usable; one millisecond earlier it is not.
 */
export function isChannelUsable(channel: ChannelTimestamps, now: Date): boolean {
  const limit = staleLimit(now.getTime());
  const latest = Math.max(channel.updatedAt?.getTime() ?? -Infinity, channel.lastVerifiedAt?.getTime() ?? -Infinity);
  return latest >= limit;
}

export interface NotificationFacts {
  status: PersonStatus;
  reserved: boolean;
  channels: readonly ChannelTimestamps[];
}

/**
 * `KAN_VARSLES` only when the person is active, not reserved and has at least one usable
 * channel. A person with no contact information cannot be notified.
 */
export function notificationStatus(facts: NotificationFacts, now: Date): NotificationStatus {
  if (facts.status !== 'ACTIVE' || facts.reserved) return 'CANNOT_BE_NOTIFIED';
  return facts.channels.some((c) => isChannelUsable(c, now)) ? 'CAN_BE_NOTIFIED' : 'CANNOT_BE_NOTIFIED';
}

/**
 * The duplicate flag (`_duplisert`) as the person themselves sees it. Agencies always see
 * it. On one's own record it is shown only once the address has been proven with a code
 * (`_sist_validert`): otherwise anyone could set any address and read whether another
 * active person uses it. `null`: not shown yet.
 */
export function duplicateFlagForOwner(channel: { duplicated: boolean; lastValidatedAt: Date | null }): boolean | null {
  return channel.lastValidatedAt ? channel.duplicated : null;
}
