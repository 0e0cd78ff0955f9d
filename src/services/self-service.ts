import { addressKey, maskEmail, maskMobile, normaliseEmail, normaliseMobile } from '../domain/contact-address';
import { maskIdentityNumber } from '../domain/identity-number';
import type { LanguageCode } from '../domain/language';
import { badUserInput, ErrorCode, refused } from '../errors';
import type { Logger } from '../logger';
import type { Channel, Notifier } from '../notify/notifier';
import type { ChannelChange, CitizenWrites } from '../store/types';
import { codeMatches, hashCode, newCode } from './verification-code';

/** Wrong codes allowed before a code is locked. */
export const MAX_CODE_ATTEMPTS = 5;

export interface ContactInfoInput {
  email?: string | null;
  mobile?: string | null;
}

/**
 * The citizen's own entry. Every method takes the person from the verified token (the
 * caller passes `viewer.pid`), never from an argument: that is what keeps one citizen out
 * of another's record.
 */
export class SelfService {
  constructor(
    private readonly store: CitizenWrites,
    private readonly notifier: Notifier,
    private readonly logger: Logger,
    private readonly codeTtlSeconds: number,
    /** At most one code per channel this often: no flooding an address, no fast guessing. */
    private readonly codeResendSeconds: number,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Refuses (before anything is written) when a code went to this channel too recently. */
  private async assertMaySendCode(pid: string, channel: Channel, now: Date): Promise<void> {
    // 0 turns the wait off. (Checked here, not left to the sum below: a code written a
    // moment ago by a concurrent request can carry a time just after this request's `now`.)
    if (this.codeResendSeconds === 0) return;
    const pending = await this.store.pendingCode(pid, channel);
    if (!pending) return;
    const wait = Math.ceil((pending.createdAt.getTime() + this.codeResendSeconds * 1000 - now.getTime()) / 1000);
    if (wait > 0) {
      throw refused(ErrorCode.CODE_RESEND_TOO_SOON, `A code was sent to this ${channel === 'EMAIL' ? 'email address' : 'mobile number'} moments ago: try again in ${wait} s`, {
        channel,
        retryAfterSeconds: wait,
      });
    }
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
    for (const w of wanted) await this.assertMaySendCode(pid, w.channel, this.clock());

    const codes = await Promise.all(wanted.map(async () => newCode()));
    const changes: ChannelChange[] = await Promise.all(wanted.map(async (w, i) => ({ ...w, codeHash: await hashCode(codes[i]) })));
    const now = this.clock();
    const changeNumber = await this.store.setChannels(pid, changes, now, this.expiry(now));
    this.logger.info({ person: maskIdentityNumber(pid), channels: wanted.map((w) => w.channel), changeNumber }, 'contact info updated');
    await this.sendCodes(wanted.map((w, i) => ({ channel: w.channel, address: w.address, code: codes[i] })));
  }

  /** Sends a fresh code for the channel's current address, replacing any pending one. */
  async resendCode(pid: string, channel: Channel): Promise<void> {
    await this.assertMaySendCode(pid, channel, this.clock());
    const code = newCode();
    const hash = await hashCode(code);
    const now = this.clock();
    const target = await this.store.replaceCode(pid, channel, hash, now, this.expiry(now));
    if (!target) throw badUserInput(`you have no ${channel === 'EMAIL' ? 'email address' : 'mobile number'} to verify`, { fields: ['channel'] });
    await this.sendCodes([{ channel, address: target.address, code }]);
  }

  async verifyContact(pid: string, channel: Channel, code: string): Promise<void> {
    if (!/^\d{6}$/.test(code)) throw badUserInput('code must be the 6 digits that were sent', { fields: ['code'] });
    const pending = await this.store.pendingCode(pid, channel);
    const now = this.clock();
    if (!pending) throw refused(ErrorCode.CODE_NOT_FOUND, 'No code is waiting for this channel: set the address or ask for a new code');
    if (pending.failedAttempts >= MAX_CODE_ATTEMPTS) {
      throw refused(ErrorCode.CODE_LOCKED, 'This code is locked after too many wrong attempts: ask for a new code');
    }
    if (pending.expiresAt.getTime() <= now.getTime()) throw refused(ErrorCode.CODE_EXPIRED, 'This code has expired: ask for a new code');

    // Every check takes one of the code's attempts before the comparison, so guesses sent in
    // parallel (to one process or to several replicas) cannot check it more than
    // MAX_CODE_ATTEMPTS times between them.
    const attempts = await this.store.takeAttempt(pid, channel, pending.codeHash, MAX_CODE_ATTEMPTS);
    if (attempts === null) {
      const current = await this.store.pendingCode(pid, channel);
      if (current?.codeHash === pending.codeHash) throw refused(ErrorCode.CODE_LOCKED, 'This code is locked after too many wrong attempts: ask for a new code');
      throw refused(ErrorCode.CODE_NOT_FOUND, 'The code was used or replaced meanwhile: use the newest code');
    }
    if (!(await codeMatches(code, pending.codeHash))) {
      const attemptsLeft = Math.max(MAX_CODE_ATTEMPTS - attempts, 0);
      if (attemptsLeft === 0) throw refused(ErrorCode.CODE_LOCKED, 'Wrong code; the code is now locked: ask for a new code');
      throw refused(ErrorCode.CODE_INVALID, `Wrong code: ${attemptsLeft} attempt${attemptsLeft === 1 ? '' : 's'} left`, { attemptsLeft });
    }
    // Re-checked inside the write: a concurrent attempt may have used or locked it meanwhile.
    if (!(await this.store.consumeCode(pid, channel, pending.codeHash, MAX_CODE_ATTEMPTS, this.clock()))) {
      throw refused(ErrorCode.CODE_NOT_FOUND, 'The code was used, replaced or locked meanwhile: ask for a new code');
    }
  }

  async confirmContactInfo(pid: string): Promise<void> {
    if ((await this.store.confirmChannels(pid, this.clock())) === 0) {
      throw badUserInput('you have no contact information to confirm: set an email address or a mobile number first');
    }
  }

  async setReservation(pid: string, reserved: boolean): Promise<void> {
    await this.store.setReservation(pid, reserved, this.clock());
  }

  async setLanguage(pid: string, language: LanguageCode): Promise<void> {
    await this.store.setLanguage(pid, language, this.clock());
  }

  async deleteContactInfo(pid: string): Promise<void> {
    await this.store.deleteChannels(pid, this.clock());
  }

  private expiry(now: Date): Date {
    return new Date(now.getTime() + this.codeTtlSeconds * 1000);
  }

  private async sendCodes(messages: { channel: Channel; address: string; code: string }[]): Promise<void> {
    const minutes = Math.round(this.codeTtlSeconds / 60);
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
