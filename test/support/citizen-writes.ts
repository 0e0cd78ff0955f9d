/**
 * Citizen writes as the service makes them (`store.apply` with a planner), by name: for
 * store tests that exercise a store's persistence of each kind of plan.
 */
import {
  planConfirm,
  planConsumeCode,
  planDeleteChannels,
  planLanguage,
  planReservation,
  planResendCode,
  planSetChannels,
  planTakeAttempt,
  type Channel,
  type CodeLimits,
  type NewAddress,
} from '../../src/domain/citizen-plan';
import type { LanguageCode } from '../../src/domain/language';
import type { CitizenWrites } from '../../src/store/types';

/** No wait and no caps reached, unless a test passes its own. */
export const OPEN_LIMITS: CodeLimits = { maxAttempts: 5, resendSeconds: 0, perAddressPerHour: 1e6, perAddressPerDay: 1e6, failedPerCitizenPerDay: 1e6 };

export const change = (channel: Channel, address: string, codeHash = `hash-${address}`): NewAddress => ({
  channel,
  address,
  addressKey: channel === 'EMAIL' ? address.toLowerCase() : address,
  codeHash,
});

export function planned(c: CitizenWrites, limits: CodeLimits = OPEN_LIMITS) {
  return {
    /** The change number, or throws if refused. */
    async setChannels(id: string, changes: readonly NewAddress[], now: Date, expiresAt: Date): Promise<number> {
      const applied = await c.apply(id, now, changes.map((x) => x.addressKey), (s) => planSetChannels(s, changes, now, expiresAt, limits));
      if (applied.result) throw new Error(`refused: ${applied.result.refused}`);
      return applied.changeNumber!;
    },
    async pendingCode(id: string, channel: Channel) {
      return (await c.state(id, new Date())).codes.find((x) => x.channel === channel);
    },
    async replaceCode(id: string, channel: Channel, codeHash: string, now: Date, expiresAt: Date) {
      const key = (await c.state(id, now)).channels.find((x) => x.channel === channel)?.addressKey ?? '';
      const { result } = await c.apply(id, now, [key], (s) => planResendCode(s, channel, key, codeHash, now, expiresAt, limits));
      return 'sentTo' in result ? { address: result.sentTo } : null;
    },
    async takeAttempt(id: string, channel: Channel, codeHash: string, maxAttempts: number, now = new Date()): Promise<number | null> {
      const { result } = await c.apply(id, now, [], (s) => planTakeAttempt(s, channel, codeHash, now, { ...limits, maxAttempts }));
      return 'taken' in result ? result.taken : null;
    },
    async consumeCode(id: string, channel: Channel, codeHash: string, maxAttempts: number, now: Date): Promise<boolean> {
      return (await c.apply(id, now, [], (s) => planConsumeCode(s, channel, codeHash, now, { ...limits, maxAttempts }))).result;
    },
    async confirmChannels(id: string, now: Date): Promise<number> {
      return (await c.apply(id, now, [], (s) => planConfirm(s, now))).result;
    },
    async setReservation(id: string, reserved: boolean, now: Date): Promise<void> {
      await c.apply(id, now, [], (s) => planReservation(s, reserved, now));
    },
    async setLanguage(id: string, language: LanguageCode, now: Date): Promise<void> {
      await c.apply(id, now, [], (s) => planLanguage(s, language, now));
    },
    async deleteChannels(id: string, now: Date): Promise<number> {
      return (await c.apply(id, now, [], planDeleteChannels)).result;
    },
  };
}
