import {
  checkRefusal,
  planConfirm,
  planConsumeCode,
  planDeleteChannels,
  planReservation,
  planSetChannels,
  sendRefusal,
  type CitizenState,
  type CodeEvent,
  type CodeLimits,
} from '../../src/domain/citizen-plan';

const T0 = new Date('2026-03-01T12:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const LIMITS: CodeLimits = { maxAttempts: 5, resendSeconds: 60, perAddressPerHour: 3, perAddressPerDay: 4, failedPerCitizenPerDay: 6 };
const ME = '01819012345';

function state(overrides: Partial<CitizenState> = {}): CitizenState {
  return { id: ME, person: null, channels: [], codes: [], codeLog: [], ...overrides };
}
const sent = (minutes: number, addressKey = 'a@example.org', personId = ME): CodeEvent => ({ personId, channel: 'EMAIL', addressKey, event: 'SENT', at: at(minutes) });
const event = (kind: 'CHECKED' | 'PROVEN', minutes: number): CodeEvent => ({ personId: ME, channel: 'EMAIL', addressKey: 'a@example.org', event: kind, at: at(minutes) });

describe('sendRefusal', () => {
  it('waits resendSeconds after the citizen’s last code on the channel, deleted rows or not', () => {
    const s = state({ codeLog: [sent(-0.5)] });
    expect(sendRefusal(s, 'EMAIL', 'other@example.org', T0, LIMITS)).toEqual({ refused: 'RESEND_WAIT', channel: 'EMAIL', retryAfterSeconds: 30 });
    expect(sendRefusal(s, 'MOBILE', '+4791234567', T0, LIMITS)).toBeNull();
    expect(sendRefusal(s, 'EMAIL', 'other@example.org', T0, { ...LIMITS, resendSeconds: 0 })).toBeNull();
    expect(sendRefusal(state({ codeLog: [sent(-1)] }), 'EMAIL', 'x@example.org', T0, LIMITS)).toBeNull();
  });

  it('caps codes to one address from anyone per rolling hour and day, free again when the oldest leaves the window', () => {
    const others = [sent(-50, 'a@example.org', 'x'), sent(-40, 'a@example.org', 'y'), sent(-30, 'a@example.org', 'z')];
    expect(sendRefusal(state({ codeLog: others }), 'EMAIL', 'a@example.org', T0, LIMITS)).toEqual({ refused: 'ADDRESS_HOURLY', channel: 'EMAIL', retryAfterSeconds: 10 * 60 });
    expect(sendRefusal(state({ codeLog: others }), 'EMAIL', 'b@example.org', T0, LIMITS)).toBeNull();
    const day = [sent(-23 * 60, 'a@example.org', 'w'), sent(-120, 'a@example.org', 'x'), sent(-90, 'a@example.org', 'y'), sent(-30, 'a@example.org', 'z')];
    expect(sendRefusal(state({ codeLog: day }), 'EMAIL', 'a@example.org', T0, LIMITS)).toEqual({ refused: 'ADDRESS_DAILY', channel: 'EMAIL', retryAfterSeconds: 60 * 60 });
  });
});

describe('checkRefusal', () => {
  it('counts wrong codes (checks minus matches) in the last day', () => {
    const five = Array.from({ length: 5 }, (_, i) => event('CHECKED', -100 + i));
    expect(checkRefusal(state({ codeLog: five }), T0, LIMITS)).toBeNull();
    const six = [...five, event('CHECKED', -10)];
    expect(checkRefusal(state({ codeLog: six }), T0, LIMITS)).toEqual({ refused: 'FAILED_DAILY', retryAfterSeconds: (24 * 60 - 100) * 60 });
    expect(checkRefusal(state({ codeLog: [...six, event('PROVEN', -10)] }), T0, LIMITS)).toBeNull();
  });
});

describe('the planners', () => {
  const channel = { channel: 'EMAIL' as const, address: 'A@example.org', addressKey: 'a@example.org', updatedAt: at(-100), lastVerifiedAt: at(-90), lastValidatedAt: at(-80) };

  it('a first write activates the person; the same address keeps its stamps, a new one starts without', () => {
    const first = planSetChannels(state(), [{ channel: 'MOBILE', address: '+4791234567', addressKey: '+4791234567', codeHash: 'h' }], T0, at(10), LIMITS);
    expect(first.change).toEqual({ kind: 'CONTACT_INFO_UPDATED', person: { status: 'ACTIVE', reserved: false, reservedAt: null, reservationUpdatedAt: null, language: null, languageUpdatedAt: null } });
    expect(first.log).toEqual([{ channel: 'MOBILE', addressKey: '+4791234567', event: 'SENT', at: T0 }]);
    const same = planSetChannels(state({ channels: [channel] }), [{ channel: 'EMAIL', address: 'a@EXAMPLE.org', addressKey: 'a@example.org', codeHash: 'h' }], T0, at(10), LIMITS);
    expect(same.putChannels).toEqual([{ ...channel, address: 'a@EXAMPLE.org', updatedAt: T0 }]);
    const other = planSetChannels(state({ channels: [channel] }), [{ channel: 'EMAIL', address: 'b@example.org', addressKey: 'b@example.org', codeHash: 'h' }], T0, at(10), LIMITS);
    expect(other.putChannels?.[0]).toMatchObject({ lastVerifiedAt: null, lastValidatedAt: null });
    // Refused: nothing to write.
    expect(planSetChannels(state({ codeLog: [sent(0)] }), [{ channel: 'EMAIL', address: 'x@example.org', addressKey: 'x@example.org', codeHash: 'h' }], T0, at(10), LIMITS)).toEqual({
      result: { refused: 'RESEND_WAIT', channel: 'EMAIL', retryAfterSeconds: 60 },
    });
  });

  it('a code proves the address: lastValidatedAt on email and mobile alike; confirming stamps lastVerifiedAt', () => {
    const mobile = { ...channel, channel: 'MOBILE' as const, address: '+4791234567', addressKey: '+4791234567', lastVerifiedAt: null, lastValidatedAt: null };
    const code = { channel: 'MOBILE' as const, address: '+4791234567', codeHash: 'h', createdAt: T0, expiresAt: at(10), failedAttempts: 1 };
    const proven = planConsumeCode(state({ person: { status: 'ACTIVE', reserved: false, reservedAt: null, reservationUpdatedAt: null, language: null, languageUpdatedAt: null }, channels: [mobile], codes: [code] }), 'MOBILE', 'h', at(1), LIMITS);
    expect(proven.result).toBe(true);
    expect(proven.change?.kind).toBe('MOBILE_VALIDATED');
    expect(proven.putChannels).toEqual([{ ...mobile, lastValidatedAt: at(1), lastVerifiedAt: null }]);
    expect(planConfirm(state({ channels: [mobile] }), at(2)).putChannels).toEqual([{ ...mobile, lastVerifiedAt: at(2) }]);
  });

  it('keeps reservedAt while reserved and clears it when lifted', () => {
    const reserved = { status: 'ACTIVE' as const, reserved: true, reservedAt: at(-60), reservationUpdatedAt: at(-60), language: null, languageUpdatedAt: null };
    expect(planReservation(state({ person: reserved }), true, T0).change?.person).toMatchObject({ reservedAt: at(-60), reservationUpdatedAt: T0 });
    expect(planReservation(state({ person: reserved }), false, T0).change).toMatchObject({ kind: 'RESERVATION_LIFTED', person: { reserved: false, reservedAt: null } });
    expect(planReservation(state(), true, T0).change?.person).toMatchObject({ status: 'ACTIVE', reservedAt: T0 });
  });

  it('a delete removes channels and codes and never touches the code log', () => {
    const plan = planDeleteChannels(state({ channels: [channel], codeLog: [sent(-1)] }));
    expect(plan).toMatchObject({ result: 1, removeChannels: ['EMAIL'], removeCodes: [] });
    expect(plan.log).toBeUndefined();
    expect(plan.pruneLogBefore).toBeUndefined();
  });
});
