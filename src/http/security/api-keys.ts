import { WarmgateError } from '../../errors.js';
import { requestHeader } from '../body.js';
import { refuse, type Check } from '../admission.js';
import { isLoopbackAddress } from './local-address.js';
import { KeyRing, presentedKey, type KeyScope } from './key-ring.js';
import { peerAddress } from '../node-request.js';
import { routeScope } from './route-scopes.js';

/**
 * API keys (`server.api_keys`, `WARMGATE_API_KEY`), when any is configured; with none every
 * request passes, as before. Each route's scope is `routeScope`'s: an inference key opens
 * inference routes, an admin key those and admin ones; the read-only dashboard pages are
 * open to loopback peers. No key (or a wrong one) is 401 with `WWW-Authenticate: Bearer`;
 * a valid key of too small a scope is 403. A key is never logged nor echoed.
 */
export function apiKeys(options: { keys: ReadonlyArray<{ key: string; scope: KeyScope }>; metricsNeedKey?: boolean }): Check | undefined {
  const ring = new KeyRing(options.keys);
  if (ring.size === 0) return undefined;
  return (c) => {
    const path = c.req.path;
    const needs = routeScope(c.req.method, path, options);
    if (needs === 'open') return undefined;
    if (needs === 'local' && isLoopbackAddress(peerAddress(c))) return undefined;
    const presented = presentedKey(requestHeader(c, 'authorization'), requestHeader(c, 'x-api-key'));
    const scope = presented === undefined ? undefined : ring.scopeOf(presented);
    if (scope === undefined) {
      return refuse(c, new WarmgateError('UNAUTHORIZED', presented === undefined
        ? 'this gateway needs an API key: send it as "Authorization: Bearer <key>" or "x-api-key: <key>"'
        : 'the API key is not valid'));
    }
    if (needs === 'admin' && scope !== 'admin') {
      return refuse(c, new WarmgateError('FORBIDDEN', `${c.req.method} ${path} needs an admin key; this key's scope is ${scope}`));
    }
    return undefined;
  };
}
