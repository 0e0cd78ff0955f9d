/**
 * The rows citizen self-service writes, the same for both stores: what the rules say the
 * row must hold, apart from how each dialect writes it.
 */
import type { Channel } from '../notify/notifier';
import type { ChannelChange } from './types';

/**
 * The contact point `setChannels` writes (insert, or update on the person and channel). A
 * new address starts unconfirmed and unproven (both stamps cleared); the same address
 * again keeps its stamps. Either way the citizen changed it now.
 */
export function channelRow(personId: string, change: ChannelChange, now: Date, sameAddress: boolean) {
  return {
    personId,
    channel: change.channel,
    address: change.address,
    addressKey: change.addressKey,
    updatedAt: now,
    ...(sameAddress ? {} : { lastVerifiedAt: null, lastValidatedAt: null }),
  };
}

/** A fresh pending code for the channel's address: replaces any earlier one, with all its attempts. */
export function pendingCodeRow(personId: string, channel: Channel, address: string, codeHash: string, now: Date, expiresAt: Date) {
  return { personId, channel, address, codeHash, createdAt: now, expiresAt, failedAttempts: 0 };
}
