import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { internalError } from '../../src/http/client-errors';
import { createLogger } from '../../src/logger';

describe('the error id of an internal error', () => {
  it('is one that the masking of identity numbers leaves whole, the same in the answer and in the log', () => {
    // The first UUID drawn has an 11-digit run (as about one in 240 has), the second none.
    jest
      .spyOn(crypto, 'randomUUID')
      .mockReturnValueOnce('d83ce656-d9c3-4dbc-9c02-54527112345b')
      .mockReturnValueOnce('7d2ec5c2-68ef-4205-aa19-5580a752235b');
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const refusal = internalError(createLogger('error', sink), new Error('boom'), 'failed');
    expect(refusal.errorId).toBe('7d2ec5c2-68ef-4205-aa19-5580a752235b');
    expect(refusal.message).toBe('Internal server error (error id 7d2ec5c2-68ef-4205-aa19-5580a752235b)');
    expect(JSON.parse(lines[0]).errorId).toBe(refusal.errorId);
  });
});
