import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

export type Channel = 'EMAIL' | 'MOBILE';

export interface OutgoingMessage {
  channel: Channel;
  /** Email address, or mobile number in E.164. */
  recipient: string;
  text: string;
}

/**
 * Sends messages to citizens: the one-time codes that prove an address. A production
 * deployment implements this against its SMS and email gateways (see docs/api.md, "Messages with codes"); the
 * promise resolves once the gateway has accepted the message.
 */
export interface Notifier {
  send(message: OutgoingMessage): Promise<void>;
}

/**
 * The development notifier: appends each message as one JSON line to a file, the way local
 * mail catchers work, so a developer or a test can read the code.
 */
export class OutboxFileNotifier implements Notifier {
  constructor(private readonly file: string) {}

  async send(message: OutgoingMessage): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify({ at: new Date().toISOString(), ...message })}\n`, { mode: 0o600 });
  }
}
