import { hostname } from 'node:os';
import type { MiddlewareHandler } from 'hono';
import { WarmgateError } from '../../errors.js';
import { requestHeader } from '../body.js';
import { dialectOf, errorResponse } from '../errors.js';
import { isLocalAddress, isLoopbackListen } from './local-address.js';

/**
 * DNS rebinding guard, Ollama's rule: while the gateway listens (`listen`, `server.host`) on loopback only, a request
 * must name this machine in its `Host` (a page on `evil.example` that re-pointed its name at
 * 127.0.0.1 still sends `Host: evil.example`). Allowed: no Host, `localhost`, this machine's
 * hostname, `*.localhost`, `*.local`, `*.internal`, and IP literals that are loopback,
 * private, unspecified or this machine's. Listening on any other address, every Host passes
 * (the network can reach it by any name; keys guard it there).
 */
export function hostCheck(options: { listen: string }): MiddlewareHandler {
  const listenHost = options.listen;
  if (!isLoopbackListen(listenHost)) return async (_c, next) => next();
  return async (c, next) => {
    const host = requestHeader(c, 'host') ?? '';
    if (allowedHost(host)) return next();
    return errorResponse(c, dialectOf(c.req.path), new WarmgateError(
      'FORBIDDEN',
      `Host ${JSON.stringify(host)} is not this machine: while listening on ${listenHost} the gateway answers only requests addressed to localhost or a local address`,
    ));
  };
}

/** A Host header's name (port and IPv6 brackets kept apart), lower-cased. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(0, end + 1);
  }
  // One colon: name:port. More: a bare IPv6 literal (not valid in Host, but unambiguous).
  const colon = h.indexOf(':');
  return colon >= 0 && colon === h.lastIndexOf(':') ? h.slice(0, colon) : h;
}

export function allowedHost(header: string): boolean {
  const name = hostName(header);
  if (name === '' || name === 'localhost') return true;
  if (isLocalAddress(name)) return true;
  if (name === hostname().toLowerCase()) return true;
  return ['.localhost', '.local', '.internal'].some((tld) => name.endsWith(tld));
}
