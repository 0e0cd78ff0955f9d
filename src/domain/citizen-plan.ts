/**
 * The decisions of citizen self-service, taken once for both stores: pure planners that
 * look at a citizen's current state and say what to write. A store reads the state inside
 * its write transaction (under the person's lock), hands it to a planner and persists the
 * plan it gets back, all in that one transaction (`CitizenWrites.apply`); it decides
 * nothing itself. No I/O here and no clock: `now` is always passed in.
 */
import type { ChangeKind } from './change-kind';
import type { LanguageCode } from './language';
import type { PersonFields } from './person-record';

export type Channel = 'EMAIL' | 'MOBILE';

/** The person's row, apart from the bookkeeping the store does (change number, `updatedAt`). */
export type CitizenPerson = PersonFields;

/** One contact channel as stored. */
export interface ChannelState {
  channel: Channel;
  /** As stored: trimmed email, or E.164 mobile. */
  address: string;
  /** What "the same address" means (`addressKey` in contact-address.ts). */
  addressKey: string;
  /** `_oppdatert`. */
  updatedAt: Date;
  /** `_sist_verifisert`: the citizen confirmed it is still right. */
  lastVerifiedAt: Date | null;
  /** `_sist_validert`: proven with a one-time code. */
  lastValidatedAt: Date | null;
}

/** The one pending code of a channel. */
export interface PendingCode {
  channel: Channel;
  /** The address the code was sent to: it proves that address only. */
  address: string;
  /** `salt:hash` (scrypt), never the code. */
  codeHash: string;
  createdAt: Date;
  expiresAt: Date;
  /** Checks taken so far (every check, before the comparison). */
  failedAttempts: number;
}

/**
 * The code log: what happened to codes, kept apart from the pending codes so that deleting
 * or changing the contact information does not clear it. `SENT`: a code went to an
 * address; `CHECKED`: a code was checked (an attempt taken); `PROVEN`: a check matched.
 */
export type CodeEventKind = 'SENT' | 'CHECKED' | 'PROVEN';

export interface CodeEvent {
  personId: string;
  channel: Channel;
  addressKey: string;
  event: CodeEventKind;
  at: Date;
}

/** What the planners decide on, read in the write's own transaction. */
export interface CitizenState {
  id: string;
  /** null: never registered. */
  person: CitizenPerson | null;
  channels: readonly ChannelState[];
  codes: readonly PendingCode[];
  /**
   * Code events since `now - CODE_LOG_WINDOW_MS`: the person's own, and everyone's to the
   * addresses the write named and the person's current addresses.
   */
  codeLog: readonly CodeEvent[];
}

/** What one write persists, in one transaction. Absent parts are left as they are. */
export interface CitizenPlan<T> {
  /** What the caller gets back. */
  result: T;
  /**
   * The entry changed: the store takes the next change number for `kind` and writes the
   * person row as `person` (creating it when there is none) with that number and
   * `updatedAt = now`. Without it nothing takes a number.
   */
  change?: { kind: ChangeKind; person: CitizenPerson };
  /** Channels written whole (insert, or replace the person's row for that channel). */
  putChannels?: readonly ChannelState[];
  removeChannels?: readonly Channel[];
  /** Pending codes written whole (insert, or replace the channel's code). */
  putCodes?: readonly PendingCode[];
  removeCodes?: readonly Channel[];
  /** Appended to the code log (the person is the state's). */
  log?: readonly Omit<CodeEvent, 'personId'>[];
  /** Code-log events older than this may be deleted (a few per write: the log stays small). */
  pruneLogBefore?: Date;
}

/** Limits on codes. */
export interface CodeLimits {
  /** Checks allowed per code; at the limit the code is locked. */
  maxAttempts: number;
  /** At most one code per citizen and channel this often (0: no wait). */
  resendSeconds: number;
  /** Codes to one address (from any citizen) per rolling hour, and per rolling day. */
  perAddressPerHour: number;
  perAddressPerDay: number;
  /** Wrong codes per citizen per rolling day, over all codes and channels. */
  failedPerCitizenPerDay: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How far back the code log is read: the longest window a limit looks at. */
export const CODE_LOG_WINDOW_MS = DAY_MS;

/** Why a code is not sent now, and when it could be. */
export interface SendRefusal {
  refused: 'RESEND_WAIT' | 'ADDRESS_HOURLY' | 'ADDRESS_DAILY';
  channel: Channel;
  retryAfterSeconds: number;
}

/** Why a code is not checked now. */
export interface CheckRefusal {
  refused: 'FAILED_DAILY';
  retryAfterSeconds: number;
}

const secondsUntil = (at: number, now: Date) => Math.max(1, Math.ceil((at - now.getTime()) / 1000));

/**
 * Whether a code may go to `addressKey` on `channel` now: one code per citizen and channel
 * per `resendSeconds`, at most `perAddressPerHour`/`perAddressPerDay` to one address. All
 * from the code log, which deletes do not clear. null: it may.
 */
export function sendRefusal(state: CitizenState, channel: Channel, addressKey: string, now: Date, limits: CodeLimits): SendRefusal | null {
  const sent = state.codeLog.filter((e) => e.event === 'SENT');
  if (limits.resendSeconds > 0) {
    const mine = sent.filter((e) => e.personId === state.id && e.channel === channel).map((e) => e.at.getTime());
    // (A concurrent request's code can carry a time a moment after `now`: still a wait.)
    if (mine.length > 0) {
      const until = Math.max(...mine) + limits.resendSeconds * 1000;
      if (until > now.getTime()) return { refused: 'RESEND_WAIT', channel, retryAfterSeconds: secondsUntil(until, now) };
    }
  }
  const toAddress = sent
    .filter((e) => e.channel === channel && e.addressKey === addressKey)
    .map((e) => e.at.getTime())
    .sort((a, b) => a - b);
  const windows = [
    { refused: 'ADDRESS_HOURLY' as const, ms: HOUR_MS, cap: limits.perAddressPerHour },
    { refused: 'ADDRESS_DAILY' as const, ms: DAY_MS, cap: limits.perAddressPerDay },
  ];
  for (const w of windows) {
    const inWindow = toAddress.filter((at) => at > now.getTime() - w.ms);
    if (inWindow.length >= w.cap) {
      // Free again once enough of them have left the window.
      const frees = inWindow[inWindow.length - w.cap] + w.ms;
      return { refused: w.refused, channel, retryAfterSeconds: secondsUntil(frees, now) };
    }
  }
  return null;
}

/** Wrong codes in the last day are checks minus matches; at the cap, no more checks today. */
export function checkRefusal(state: CitizenState, now: Date, limits: CodeLimits): CheckRefusal | null {
  const since = now.getTime() - DAY_MS;
  const mine = state.codeLog.filter((e) => e.personId === state.id && e.at.getTime() > since);
  const checks = mine.filter((e) => e.event === 'CHECKED').map((e) => e.at.getTime()).sort((a, b) => a - b);
  const proven = mine.filter((e) => e.event === 'PROVEN').length;
  if (checks.length - proven < limits.failedPerCitizenPerDay) return null;
  return { refused: 'FAILED_DAILY', retryAfterSeconds: secondsUntil(checks[proven] + DAY_MS, now) };
}

/** A person's row as it stands, or as a first write creates it. Any citizen write re-activates a deleted entry. */
function activePerson(state: CitizenState): CitizenPerson {
  const base = state.person ?? { status: 'ACTIVE', reserved: false, reservedAt: null, reservationUpdatedAt: null, language: null, languageUpdatedAt: null };
  return { ...base, status: 'ACTIVE' };
}

const existingPerson = (state: CitizenState): CitizenPerson => state.person ?? activePerson(state);

const prune = (now: Date) => new Date(now.getTime() - CODE_LOG_WINDOW_MS);

export interface NewAddress {
  channel: Channel;
  address: string;
  addressKey: string;
  /** The hash of the code that goes to it. */
  codeHash: string;
}

/**
 * Sets one or both channels, creating or re-activating the person. A new address starts
 * unconfirmed and unproven; the same address again (same `addressKey`) keeps its stamps.
 * Either way the citizen changed it now, and the channel's pending code is replaced by a
 * fresh one, logged as sent. Refused, writing nothing, if a send limit holds.
 */
export function planSetChannels(state: CitizenState, changes: readonly NewAddress[], now: Date, expiresAt: Date, limits: CodeLimits): CitizenPlan<SendRefusal | null> {
  for (const c of changes) {
    const refusal = sendRefusal(state, c.channel, c.addressKey, now, limits);
    if (refusal) return { result: refusal };
  }
  const putChannels = changes.map((c): ChannelState => {
    const current = state.channels.find((p) => p.channel === c.channel);
    const same = current?.addressKey === c.addressKey;
    return {
      channel: c.channel,
      address: c.address,
      addressKey: c.addressKey,
      updatedAt: now,
      lastVerifiedAt: same ? current.lastVerifiedAt : null,
      lastValidatedAt: same ? current.lastValidatedAt : null,
    };
  });
  return {
    result: null,
    change: { kind: 'CONTACT_INFO_UPDATED', person: activePerson(state) },
    putChannels,
    putCodes: changes.map((c) => freshCode(c.channel, c.address, c.codeHash, now, expiresAt)),
    log: changes.map((c) => ({ channel: c.channel, addressKey: c.addressKey, event: 'SENT' as const, at: now })),
    pruneLogBefore: prune(now),
  };
}

/** A fresh pending code for an address: replaces any earlier one, with all its attempts. */
function freshCode(channel: Channel, address: string, codeHash: string, now: Date, expiresAt: Date): PendingCode {
  return { channel, address, codeHash, createdAt: now, expiresAt, failedAttempts: 0 };
}

/** `moved`: the channel's address is no longer `addressKey` (changed since the caller read it). */
export type ResendResult = { sentTo: string } | { noChannel: true } | { moved: true } | SendRefusal;

/**
 * A fresh code for the channel's current address, replacing the pending one; takes no
 * change number. `addressKey` is the address the caller expects (and the store locked).
 */
export function planResendCode(
  state: CitizenState,
  channel: Channel,
  addressKey: string,
  codeHash: string,
  now: Date,
  expiresAt: Date,
  limits: CodeLimits,
): CitizenPlan<ResendResult> {
  const current = state.channels.find((p) => p.channel === channel);
  if (!current) return { result: { noChannel: true } };
  if (current.addressKey !== addressKey) return { result: { moved: true } };
  const refusal = sendRefusal(state, channel, current.addressKey, now, limits);
  if (refusal) return { result: refusal };
  return {
    result: { sentTo: current.address },
    putCodes: [freshCode(channel, current.address, codeHash, now, expiresAt)],
    log: [{ channel, addressKey: current.addressKey, event: 'SENT', at: now }],
    pruneLogBefore: prune(now),
  };
}

/** `taken`: the checks of the code so far, this one included. */
export type AttemptResult = { taken: number } | { gone: 'REPLACED' | 'LOCKED' } | CheckRefusal;

/**
 * Takes one of the pending code's attempts before the code is compared, so parallel
 * guesses (on one process or several) check a code at most `maxAttempts` times; logged
 * for the daily cap. Only for the code with this hash (a code replaced meanwhile is not
 * charged), and only while it has attempts left.
 */
export function planTakeAttempt(state: CitizenState, channel: Channel, codeHash: string, now: Date, limits: CodeLimits): CitizenPlan<AttemptResult> {
  const code = state.codes.find((c) => c.channel === channel);
  if (!code || code.codeHash !== codeHash) return { result: { gone: 'REPLACED' } };
  if (code.failedAttempts >= limits.maxAttempts) return { result: { gone: 'LOCKED' } };
  const refusal = checkRefusal(state, now, limits);
  if (refusal) return { result: refusal };
  const addressKey = state.channels.find((p) => p.channel === channel && p.address === code.address)?.addressKey ?? code.address;
  return {
    result: { taken: code.failedAttempts + 1 },
    putCodes: [{ ...code, failedAttempts: code.failedAttempts + 1 }],
    log: [{ channel, addressKey, event: 'CHECKED', at: now }],
  };
}

/**
 * Uses up a code that matched (single use) and stamps the proof: `lastValidatedAt`
 * (`_sist_validert`) on the channel, for email and mobile alike; confirming
 * (`planConfirm`) is what stamps `lastVerifiedAt`. Only if that code is still the pending
 * one, within its attempts (this check's taken already) and unexpired; a code whose
 * address is no longer the channel's is used up without stamping anything. true: proven.
 */
export function planConsumeCode(state: CitizenState, channel: Channel, codeHash: string, now: Date, limits: CodeLimits): CitizenPlan<boolean> {
  const code = state.codes.find((c) => c.channel === channel);
  if (!code || code.codeHash !== codeHash || code.failedAttempts > limits.maxAttempts || code.expiresAt.getTime() <= now.getTime()) return { result: false };
  const point = state.channels.find((p) => p.channel === channel);
  if (!point || point.address !== code.address) return { result: false, removeCodes: [channel] };
  return {
    result: true,
    change: { kind: channel === 'EMAIL' ? 'EMAIL_VALIDATED' : 'MOBILE_VALIDATED', person: existingPerson(state) },
    putChannels: [{ ...point, lastValidatedAt: now }],
    removeCodes: [channel],
    log: [{ channel, addressKey: point.addressKey, event: 'PROVEN', at: now }],
  };
}

/** "My details are still right": stamps `lastVerifiedAt` on every channel, restarting the 18-month clock. Returns how many. */
export function planConfirm(state: CitizenState, now: Date): CitizenPlan<number> {
  if (state.channels.length === 0) return { result: 0 };
  return {
    result: state.channels.length,
    change: { kind: 'CONTACT_INFO_CONFIRMED', person: existingPerson(state) },
    putChannels: state.channels.map((p) => ({ ...p, lastVerifiedAt: now })),
  };
}

/** `reservedAt` says since when the person has been reserved: kept while already reserved. */
export function planReservation(state: CitizenState, reserved: boolean, now: Date): CitizenPlan<null> {
  const person = activePerson(state);
  const reservedAt = reserved ? (state.person?.reserved ? state.person.reservedAt : now) : null;
  return {
    result: null,
    change: { kind: reserved ? 'RESERVED' : 'RESERVATION_LIFTED', person: { ...person, reserved, reservedAt, reservationUpdatedAt: now } },
  };
}

export function planLanguage(state: CitizenState, language: LanguageCode, now: Date): CitizenPlan<null> {
  return { result: null, change: { kind: 'LANGUAGE_SET', person: { ...activePerson(state), language, languageUpdatedAt: now } } };
}

/**
 * Removes both channels and their pending codes. The code log stays: a delete must not
 * reset the limits on codes. Returns how many channels there were.
 */
export function planDeleteChannels(state: CitizenState): CitizenPlan<number> {
  const channels = state.channels.map((p) => p.channel);
  const codes = state.codes.map((c) => c.channel);
  if (channels.length === 0) return { result: 0, removeCodes: codes };
  return { result: channels.length, change: { kind: 'CONTACT_INFO_DELETED', person: existingPerson(state) }, removeChannels: channels, removeCodes: codes };
}
