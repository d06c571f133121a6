/**
 * What each route needs, with keys configured:
 * - `open`: liveness and the banner (`GET|HEAD /`, `/warmgate/health`, llama-server's
 *   `/health`, which llama-server itself leaves public) and `/metrics` unless
 *   `metrics_need_key`;
 * - `local`: the read-only dashboard pages, open to loopback peers, else any valid key;
 * - `admin`: residency control and everything else under `/warmgate/`, the Ollama daemon's
 *   model management (pull, push, create, copy, delete, blobs), `/metrics` when asked;
 * - `inference`: everything else (chat, generate, embed, completions, model lists, show, ps,
 *   version, llama-server's native routes), and unknown paths (they 404 after the check).
 */
export type RouteScope = 'open' | 'local' | 'inference' | 'admin';

const OPEN = new Set(['/', '/warmgate/health', '/health']);
const LOCAL = new Set(['/warmgate', '/warmgate/status', '/warmgate/requests']);
const DAEMON_ADMIN = new Set(['/api/pull', '/api/push', '/api/create', '/api/copy', '/api/delete']);

export function routeScope(method: string, path: string, options: { metricsNeedKey?: boolean } = {}): RouteScope {
  const read = method === 'GET' || method === 'HEAD';
  if (read && OPEN.has(path)) return 'open';
  if (path === '/metrics') return options.metricsNeedKey ? 'admin' : 'open';
  if (read && LOCAL.has(path)) return 'local';
  if (path === '/warmgate' || path.startsWith('/warmgate/')) return 'admin';
  if (DAEMON_ADMIN.has(path) || path.startsWith('/api/blobs/')) return 'admin';
  return 'inference';
}
