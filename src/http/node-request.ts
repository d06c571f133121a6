import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';

/** Node's request and response behind a Hono context, when served by @hono/node-server (absent under `app.request`). */
export function nodeBindings(c: Context): { incoming?: IncomingMessage; outgoing?: ServerResponse } {
  return (c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined) ?? {};
}

/**
 * Sets a header on whatever reply the request gets: Hono's (merged into the handler's
 * Response) and Node's own, which replies streamed straight to Node's response
 * (`http/streaming.ts`) write their head on.
 */
export function replyHeader(c: Context, name: string, value: string): void {
  c.header(name, value);
  const { outgoing } = nodeBindings(c);
  if (outgoing && !outgoing.headersSent) outgoing.setHeader(name, value);
}

/** The peer's address (the socket's, not any forwarded-for header). */
export function peerAddress(c: Context): string | undefined {
  return nodeBindings(c).incoming?.socket.remoteAddress;
}
