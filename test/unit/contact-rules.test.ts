import { isChannelUsable, notificationStatus, staleBefore, type ChannelTimestamps } from '../../src/domain/contact-rules';

const now = new Date('2026-06-15T12:00:00.000Z');
const exactly18MonthsAgo = new Date('2024-12-15T12:00:00.000Z');
const justOver = new Date(exactly18MonthsAgo.getTime() - 1);
const fresh: ChannelTimestamps = { updatedAt: new Date('2026-01-01T00:00:00Z'), lastVerifiedAt: null };
const stale: ChannelTimestamps = { updatedAt: new Date('2023-01-01T00:00:00Z'), lastVerifiedAt: null };

describe('the 18-month rule', () => {
  it('counts 18 calendar months back', () => {
    expect(staleBefore(now).toISOString()).toBe(exactly18MonthsAgo.toISOString());
    // 31 August minus 18 months is the last day of February (2025 is not a leap year).
    expect(staleBefore(new Date('2026-08-31T08:00:00Z')).toISOString()).toBe('2025-02-28T08:00:00.000Z');
    expect(staleBefore(new Date('2025-08-31T08:00:00Z')).toISOString()).toBe('2024-02-29T08:00:00.000Z');
  });

  it('keeps a channel updated exactly 18 months ago usable, and not one a millisecond older', () => {
    expect(isChannelUsable({ updatedAt: exactly18MonthsAgo, lastVerifiedAt: null }, now)).toBe(true);
    expect(isChannelUsable({ updatedAt: justOver, lastVerifiedAt: null }, now)).toBe(false);
  });

  it('lets a recent confirmation rescue an old update, and the other way round', () => {
    expect(isChannelUsable({ updatedAt: stale.updatedAt, lastVerifiedAt: exactly18MonthsAgo }, now)).toBe(true);
    expect(isChannelUsable({ updatedAt: exactly18MonthsAgo, lastVerifiedAt: stale.updatedAt }, now)).toBe(true);
    expect(isChannelUsable({ updatedAt: justOver, lastVerifiedAt: justOver }, now)).toBe(false);
  });

  it('treats a channel with no timestamps as stale', () => {
    expect(isChannelUsable({ updatedAt: null, lastVerifiedAt: null }, now)).toBe(false);
  });
});

describe('notification status', () => {
  it('can notify an active, unreserved person with one stale and one fresh channel', () => {
    expect(notificationStatus({ status: 'ACTIVE', reserved: false, channels: [stale, fresh] }, now)).toBe('CAN_BE_NOTIFIED');
  });

  it('cannot notify when every channel is stale', () => {
    expect(notificationStatus({ status: 'ACTIVE', reserved: false, channels: [stale, stale] }, now)).toBe('CANNOT_BE_NOTIFIED');
  });

  it('cannot notify a reserved person, whatever their channels', () => {
    expect(notificationStatus({ status: 'ACTIVE', reserved: true, channels: [fresh] }, now)).toBe('CANNOT_BE_NOTIFIED');
  });

  it('cannot notify a deleted or unregistered person', () => {
    expect(notificationStatus({ status: 'DELETED', reserved: false, channels: [fresh] }, now)).toBe('CANNOT_BE_NOTIFIED');
    expect(notificationStatus({ status: 'NOT_REGISTERED', reserved: false, channels: [] }, now)).toBe('CANNOT_BE_NOTIFIED');
  });

  it('cannot notify a person with no contact information (in practice reserved)', () => {
    expect(notificationStatus({ status: 'ACTIVE', reserved: false, channels: [] }, now)).toBe('CANNOT_BE_NOTIFIED');
  });

  it('turns at the 18-month edge', () => {
    const edge = { updatedAt: exactly18MonthsAgo, lastVerifiedAt: null };
    expect(notificationStatus({ status: 'ACTIVE', reserved: false, channels: [edge] }, now)).toBe('CAN_BE_NOTIFIED');
    expect(notificationStatus({ status: 'ACTIVE', reserved: false, channels: [edge] }, new Date(now.getTime() + 1))).toBe('CANNOT_BE_NOTIFIED');
  });
});
