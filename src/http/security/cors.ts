import { WarmgateError } from '../../errors.js';
import { requestHeader } from '../body.js';
import { refuse, type Check } from '../admission.js';
import { replyHeader } from '../node-request.js';
import { OriginAllowList } from './origin-allow-list.js';

/** Request headers a browser may send cross-origin: Ollama's list (the OpenAI SDK's own among them), and `x-api-key`. */
export const ALLOWED_HEADERS = [
  'Authorization', 'Content-Type', 'User-Agent', 'Accept', 'X-Requested-With', 'OpenAI-Beta',
  'x-stainless-arch', 'x-stainless-async', 'x-stainless-custom-poll-interval', 'x-stainless-helper-method',
  'x-stainless-lang', 'x-stainless-os', 'x-stainless-package-version', 'x-stainless-poll-helper',
  'x-stainless-retry-count', 'x-stainless-runtime', 'x-stainless-runtime-version', 'x-stainless-timeout',
  'x-api-key',
];
export const ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
/** Browsers cache an answered preflight this long (gin-contrib/cors' default, Ollama's too). */
export const PREFLIGHT_MAX_AGE_S = 12 * 60 * 60;
/** Response headers a page may read: the timings and the back-off. */
const EXPOSED_HEADERS = ['Server-Timing', 'Retry-After'];

/**
 * Browser origins (`origins` extends Ollama's default list), as Ollama (gin-contrib/cors) treats them:
 * - no `Origin`, or one naming this very host (a same-origin fetch): passes untouched;
 * - an origin off the allow-list: 403 before any work is done (a cross-site `text/plain`
 *   POST needs no preflight, so refusing only preflights would not stop it);
 * - `OPTIONS` from an allowed origin: the preflight, answered 204 here with the
 *   `Access-Control-Allow-*` headers (it never reaches a route, nor a key check: browsers
 *   send no credentials on a preflight);
 * - any other request from an allowed origin: goes on, and its reply carries
 *   `Access-Control-Allow-Origin: <origin>` and `Vary: Origin`.
 */
export function cors(options: { origins?: readonly string[] } = {}): Check {
  const allowList = new OriginAllowList(options.origins);
  return (c) => {
    const origin = requestHeader(c, 'origin');
    if (!origin) return undefined;
    const host = requestHeader(c, 'host');
    if (host && (origin === `http://${host}` || origin === `https://${host}`)) return undefined;
    if (!allowList.allows(origin)) {
      return refuse(c, new WarmgateError(
        'FORBIDDEN',
        `Origin ${JSON.stringify(origin)} is not allowed to call this gateway (add it to server.origins or WARMGATE_ORIGINS)`,
      ));
    }
    if (c.req.method === 'OPTIONS') {
      const headers: Record<string, string> = {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': ALLOWED_METHODS.join(','),
        'access-control-allow-headers': ALLOWED_HEADERS.join(','),
        'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      };
      // Chrome's Private Network Access: a page asks before calling a local address.
      if (requestHeader(c, 'access-control-request-private-network') === 'true') headers['access-control-allow-private-network'] = 'true';
      return c.body(null, 204, headers);
    }
    replyHeader(c, 'access-control-allow-origin', origin);
    replyHeader(c, 'access-control-expose-headers', EXPOSED_HEADERS.join(', '));
    replyHeader(c, 'vary', 'Origin');
    return undefined;
  };
}
