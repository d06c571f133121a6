import { hostname } from 'node:os';
import { WarmgateError } from '../../errors.js';
import { requestHeader } from '../body.js';
import { refuse, type Check } from '../admission.js';
import { isFixedLocalAddress, isLocalAddress, isLoopbackListen } from './local-address.js';

/**
 * DNS rebinding guard, Ollama's rule: while the gateway listens (`listen`, `server.host`) on loopback only, a request
 * must name this machine in its `Host` (a page on `evil.example` that re-pointed its name at
 * 127.0.0.1 still sends `Host: evil.example`). Allowed: no Host, `localhost`, this machine's
 * hostname, `*.localhost`, `*.local`, `*.internal`, and IP literals that are loopback,
 * private, unspecified or this machine's. Listening on any other address, every Host passes
 * (the network can reach it by any name; keys guard it there).
 */
export function hostCheck(options: { listen: string }): Check | undefined {
  const listenHost = options.listen;
  if (!isLoopbackListen(listenHost)) return undefined;
  return (c) => {
    const host = requestHeader(c, 'host') ?? '';
    if (allowedHost(host)) return undefined;
    return refuse(c, new WarmgateError(
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

/** Verdicts on the Host values seen (a gateway sees a handful); bounded, and interface addresses are never cached. */
const verdicts = new Map<string, boolean>();
const VERDICTS_KEPT = 256;

export function allowedHost(header: string): boolean {
  const known = verdicts.get(header);
  if (known !== undefined) return known;
  const verdict = decide(header);
  if (verdict.cacheable) {
    if (verdicts.size >= VERDICTS_KEPT) verdicts.clear();
    verdicts.set(header, verdict.allowed);
  }
  return verdict.allowed;
}

function decide(header: string): { allowed: boolean; cacheable: boolean } {
  const name = hostName(header);
  if (name === '' || name === 'localhost' || isFixedLocalAddress(name)) return { allowed: true, cacheable: true };
  if (name === hostname().toLowerCase() || ['.localhost', '.local', '.internal'].some((tld) => name.endsWith(tld))) return { allowed: true, cacheable: true };
  // A literal that is this machine's only while an interface has it: asked each time.
  return { allowed: isLocalAddress(name), cacheable: false };
}

