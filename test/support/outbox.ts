import { existsSync, readFileSync } from 'node:fs';

export interface OutboxMessage {
  at: string;
  channel: 'EMAIL' | 'MOBILE';
  recipient: string;
  text: string;
}

/** Every message the development notifier has written, oldest first. */
export function readOutbox(file: string): OutboxMessage[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OutboxMessage);
}

/** The newest code sent to `recipient`. */
export function latestCode(file: string, recipient: string): string {
  const message = readOutbox(file)
    .filter((m) => m.recipient === recipient)
    .at(-1);
  const code = message && /\b(\d{6})\b/.exec(message.text)?.[1];
  if (!code) throw new Error(`no code was sent to ${recipient}`);
  return code;
}
