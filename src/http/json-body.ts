/**
 * The JSON body of /graphql and /rest, read by express.json within KRR_MAX_BODY_BYTES, and
 * refused at once when it is over: express's body parser answers a body over the limit only
 * once the whole of it has been read (it reads the rest off to keep the connection), so a
 * client announcing 50 MB and sending it slowly would hold a request open, unanswered, for as
 * long as it liked. Here a body announced over the limit (Content-Length) is refused before a
 * byte of it is read, and one of no stated length (chunked) as soon as the bytes received
 * pass the limit; either way with `Connection: close`, and the connection is closed soon
 * after (`closeInStages`). The refusal is today's 413 PAYLOAD_TOO_LARGE (client-errors.ts),
 * answered by the route's own error handler in its own shape.
 */
import express, { type RequestHandler } from 'express';
import type { Socket } from 'node:net';
import { unreadBodyTooLarge } from './client-errors';

/** How long a refused connection is still read from (and what comes dropped) before it is closed. */
const LINGER_MS = 2000;

/**
 * Node closes a connection it answered with `Connection: close` through `destroySoon()`: the
 * end of the answer, then the socket destroyed at once. With the client still sending, the
 * bytes left unread make the kernel reset the connection, and a client still writing gets
 * EPIPE or ECONNRESET instead of the answer (nodejs/node#54366). So this connection is closed
 * in stages (RFC 9112, section 9.6): the answer and a half-close, then what still comes is
 * read and dropped (Node's own request dump does that) until the client closes or LINGER_MS
 * have passed, whichever is first.
 */
function closeInStages(socket: Socket): void {
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.once('close', () => clearTimeout(timer));
  };
}

export function jsonBody(maxBytes: number): RequestHandler {
  const parse = express.json({ limit: maxBytes });
  return (req, res, next) => {
    const refuse = () => {
      closeInStages(req.socket);
      next(unreadBodyTooLarge());
    };
    // Bytes as they come over the wire (compressed, if the body is): a body over the limit
    // as sent is over it however it decodes, near enough (gzip adds a few bytes, at most).
    const announced = req.headers['content-length'];
    if (announced !== undefined && Number(announced) > maxBytes) return refuse();
    let refused = false;
    let parsed = false;
    let received = 0;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBytes) return;
      refused = true;
      req.off('data', count);
      refuse();
    };
    parse(req, res, (error?: unknown) => {
      parsed = true;
      req.off('data', count);
      // Once refused, the parser ends when the connection does: nothing more to answer.
      if (!refused) next(error);
    });
    // The parser has begun reading (it did not skip the body or refuse it at once): its own
    // listeners are on, so this one sees every chunk they do.
    if (!parsed && announced === undefined) req.on('data', count);
  };
}
