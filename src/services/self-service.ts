import {
  planConfirm,
  planConsumeCode,
  planDeleteChannels,
  planLanguage,
  planReservation,
  planResendCode,
  planSetChannels,
  planTakeAttempt,
  sendRefusal,
  checkRefusal,
  type CheckRefusal,
  type CodeLimits,
  type NewAddress,
  type SendRefusal,
} from '../domain/citizen-plan';
import { addressKey, maskEmail, maskMobile, normaliseEmail, normaliseMobile } from '../domain/contact-address';
import { maskIdentityNumber } from '../domain/identity-number';
import type { LanguageCode } from '../domain/language';
import type { Config } from '../config';
import { badUserInput, ErrorCode, refused } from '../errors';
import type { Logger } from '../logger';
import type { Channel, Notifier } from '../notify/notifier';
import type { CitizenWrites } from '../store/types';
import { codeMatches, hashCode, newCode } from './verification-code';

/** Wrong codes allowed before a code is locked. */
export const MAX_CODE_ATTEMPTS = 5;

export interface ContactInfoInput {
  email?: string | null;
  mobile?: string | null;
}

/** How codes are given out (src/config.ts: KRR_CODE_*). */
export interface CodeSettings {
  ttlSeconds: number;
  /** At most one code per citizen and channel this often: no flooding an address, no fast guessing. */
  resendSeconds: number;
  perAddressPerHour: number;
  perAddressPerDay: number;
  failedPerCitizenPerDay: number;
}

/** The code settings of the configuration. */
export function codeSettings(config: Config): CodeSettings {
  return {
    ttlSeconds: config.codeTtlSeconds,
    resendSeconds: config.codeResendSeconds,
    perAddressPerHour: config.codesPerAddressPerHour,
    perAddressPerDay: config.codesPerAddressPerDay,
    failedPerCitizenPerDay: config.failedCodesPerDay,
  };
}

const channelName = (channel: Channel) => (channel === 'EMAIL' ? 'email address' : 'mobile number');

const SEND_LIMITS: Record<SendRefusal['refused'], { limit: string; says: (channel: Channel, n: CodeLimits) => string }> = {
  RESEND_WAIT: { limit: 'PER_CHANNEL', says: (c) => `A code was sent to this ${channelName(c)} moments ago` },
  ADDRESS_HOURLY: { limit: 'PER_ADDRESS_HOUR', says: (c, n) => `This ${channelName(c)} has been sent ${n.perAddressPerHour} codes in the last hour` },
  ADDRESS_DAILY: { limit: 'PER_ADDRESS_DAY', says: (c, n) => `This ${channelName(c)} has been sent ${n.perAddressPerDay} codes in the last 24 hours` },
};

/**
 * The citizen's own entry. Every method takes the person from the verified token (the
 * caller passes `viewer.pid`), never from an argument: that is what keeps one citizen out
 * of another's record. The decisions are the planners' (src/domain/citizen-plan.ts); each
 * write is one `store.apply`, which runs its planner on the state it reads under the
 * person's lock.
 */
export class SelfService {
  private readonly limits: CodeLimits;

  constructor(
    private readonly store: CitizenWrites,
    private readonly notifier: Notifier,
    private readonly logger: Logger,
    private readonly codes: CodeSettings,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.limits = { maxAttempts: MAX_CODE_ATTEMPTS, ...codes };
  }

  private sendRefused(refusal: SendRefusal) {
    const { limit, says } = SEND_LIMITS[refusal.refused];
    return refused(ErrorCode.CODE_RESEND_TOO_SOON, `${says(refusal.channel, this.limits)}: try again in ${refusal.retryAfterSeconds} s`, {
      channel: refusal.channel,
      limit,
      retryAfterSeconds: refusal.retryAfterSeconds,
    });
  }

  private checkRefused(refusal: CheckRefusal) {
    return refused(
      ErrorCode.CODE_ATTEMPTS_EXCEEDED,
      `${this.limits.failedPerCitizenPerDay} wrong codes in the last 24 hours: try again in ${refusal.retryAfterSeconds} s`,
      { retryAfterSeconds: refusal.retryAfterSeconds },
    );
  }

  async updateContactInfo(pid: string, input: ContactInfoInput): Promise<void> {
    const wanted: { channel: Channel; address: string; addressKey: string }[] = [];
    const problems: string[] = [];
    if (input.email != null) {
      const email = normaliseEmail(input.email);
      if (email.ok) wanted.push({ channel: 'EMAIL', address: email.value, addressKey: addressKey('EMAIL', email.value) });
      else problems.push(`email ${email.reason}`);
    }
    if (input.mobile != null) {
      const mobile = normaliseMobile(input.mobile);
      if (mobile.ok) wanted.push({ channel: 'MOBILE', address: mobile.value, addressKey: addressKey('MOBILE', mobile.value) });
      else problems.push(`mobile ${mobile.reason}`);
    }
    if (problems.length > 0) {
      const fields = problems.map((p) => p.split(' ')[0]);
      throw badUserInput(problems.join('; '), { fields });
    }
    if (wanted.length === 0) throw badUserInput('give email, mobile or both', { fields: ['email', 'mobile'] });
    const keys = wanted.map((w) => w.addressKey);
    // Refused early, before the hashing, on a read without a lock; decided again under the lock.
    const early = await this.store.state(pid, this.clock(), keys);
    for (const w of wanted) {
      const refusal = sendRefusal(early, w.channel, w.addressKey, this.clock(), this.limits);
      if (refusal) throw this.sendRefused(refusal);
    }

    const codes = wanted.map(() => newCode());
    const changes: NewAddress[] = await Promise.all(wanted.map(async (w, i) => ({ ...w, codeHash: await hashCode(codes[i]) })));
    const now = this.clock();
    const expiresAt = this.expiry(now);
    const applied = await this.store.apply(pid, now, keys, (state) => planSetChannels(state, changes, now, expiresAt, this.limits));
    if (applied.result) throw this.sendRefused(applied.result);
    this.logger.info({ person: maskIdentityNumber(pid), channels: wanted.map((w) => w.channel), changeNumber: applied.changeNumber }, 'contact info updated');
    await this.sendCodes(wanted.map((w, i) => ({ channel: w.channel, address: w.address, code: codes[i] })));
  }

  /** Sends a fresh code for the channel's current address, replacing any pending one. */
  async resendCode(pid: string, channel: Channel, retried = false): Promise<void> {
    const noChannel = () => badUserInput(`you have no ${channelName(channel)} to verify`, { fields: ['channel'] });
    const early = await this.store.state(pid, this.clock());
    const point = early.channels.find((p) => p.channel === channel);
    if (!point) throw noChannel();
    const refusal = sendRefusal(early, channel, point.addressKey, this.clock(), this.limits);
    if (refusal) throw this.sendRefused(refusal);

    const code = newCode();
    const hash = await hashCode(code);
    const now = this.clock();
    const expiresAt = this.expiry(now);
    const key = point.addressKey;
    const { result } = await this.store.apply(pid, now, [key], (state) => planResendCode(state, channel, key, hash, now, expiresAt, this.limits));
    if ('noChannel' in result) throw noChannel();
    // The address changed between the read and the write (a concurrent update): once more, for the new one.
    if ('moved' in result) {
      if (retried) throw refused(ErrorCode.CODE_NOT_FOUND, 'Your address changed meanwhile: ask for a new code');
      return this.resendCode(pid, channel, true);
    }
    if ('refused' in result) throw this.sendRefused(result);
    await this.sendCodes([{ channel, address: result.sentTo, code }]);
  }

  async verifyContact(pid: string, channel: Channel, code: string): Promise<void> {
    if (!/^\d{6}$/.test(code)) throw badUserInput('code must be the 6 digits that were sent', { fields: ['code'] });
    const now = this.clock();
    const early = await this.store.state(pid, now);
    const pending = early.codes.find((c) => c.channel === channel);
    if (!pending) throw refused(ErrorCode.CODE_NOT_FOUND, 'No code is waiting for this channel: set the address or ask for a new code');
    if (pending.failedAttempts >= MAX_CODE_ATTEMPTS) {
      throw refused(ErrorCode.CODE_LOCKED, 'This code is locked after too many wrong attempts: ask for a new code');
    }
    if (pending.expiresAt.getTime() <= now.getTime()) throw refused(ErrorCode.CODE_EXPIRED, 'This code has expired: ask for a new code');
    const tooMany = checkRefusal(early, now, this.limits);
    if (tooMany) throw this.checkRefused(tooMany);

    // Every check takes one of the code's attempts before the comparison, so guesses sent in
    // parallel (to one process or to several replicas) cannot check it more than
    // MAX_CODE_ATTEMPTS times between them.
    const checkedAt = this.clock();
    const { result: attempt } = await this.store.apply(pid, checkedAt, [], (state) => planTakeAttempt(state, channel, pending.codeHash, checkedAt, this.limits));
    if ('refused' in attempt) throw this.checkRefused(attempt);
    if ('gone' in attempt) {
      if (attempt.gone === 'LOCKED') throw refused(ErrorCode.CODE_LOCKED, 'This code is locked after too many wrong attempts: ask for a new code');
      throw refused(ErrorCode.CODE_NOT_FOUND, 'The code was used or replaced meanwhile: use the newest code');
    }
    if (!(await codeMatches(code, pending.codeHash))) {
      const attemptsLeft = Math.max(MAX_CODE_ATTEMPTS - attempt.taken, 0);
      if (attemptsLeft === 0) throw refused(ErrorCode.CODE_LOCKED, 'Wrong code; the code is now locked: ask for a new code');
      throw refused(ErrorCode.CODE_INVALID, `Wrong code: ${attemptsLeft} attempt${attemptsLeft === 1 ? '' : 's'} left`, { attemptsLeft });
    }
    // Re-checked inside the write: a concurrent attempt may have used or locked it meanwhile.
    const provenAt = this.clock();
    const { result: proven } = await this.store.apply(pid, provenAt, [], (state) => planConsumeCode(state, channel, pending.codeHash, provenAt, this.limits));
    if (!proven) throw refused(ErrorCode.CODE_NOT_FOUND, 'The code was used, replaced or locked meanwhile: ask for a new code');
  }

  async confirmContactInfo(pid: string): Promise<void> {
    const now = this.clock();
    const { result } = await this.store.apply(pid, now, [], (state) => planConfirm(state, now));
    if (result === 0) throw badUserInput('you have no contact information to confirm: set an email address or a mobile number first');
  }

  async setReservation(pid: string, reserved: boolean): Promise<void> {
    const now = this.clock();
    await this.store.apply(pid, now, [], (state) => planReservation(state, reserved, now));
  }

  async setLanguage(pid: string, language: LanguageCode): Promise<void> {
    const now = this.clock();
    await this.store.apply(pid, now, [], (state) => planLanguage(state, language, now));
  }

  async deleteContactInfo(pid: string): Promise<void> {
    await this.store.apply(pid, this.clock(), [], planDeleteChannels);
  }

  private expiry(now: Date): Date {
    return new Date(now.getTime() + this.codes.ttlSeconds * 1000);
  }

  private async sendCodes(messages: { channel: Channel; address: string; code: string }[]): Promise<void> {
    const minutes = Math.round(this.codes.ttlSeconds / 60);
    const failed: Channel[] = [];
    for (const m of messages) {
      try {
        await this.notifier.send({
          channel: m.channel,
          recipient: m.address,
          text: `Your confirmation code for the contact register is ${m.code}. It expires in ${minutes} minutes.`,
        });
      } catch (error) {
        failed.push(m.channel);
        const to = m.channel === 'EMAIL' ? maskEmail(m.address) : maskMobile(m.address);
        this.logger.error({ err: error, channel: m.channel, to }, 'could not send a verification code');
      }
    }
    if (failed.length > 0) {
      throw refused(ErrorCode.CODE_NOT_SENT, `Your details were saved, but the code could not be sent (${failed.join(', ')}): ask for a new code`, {
        channels: failed,
      });
    }
  }
}
