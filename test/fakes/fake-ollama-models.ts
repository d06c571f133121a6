import type { ServerResponse } from 'node:http';
import { ndjsonLine } from '../../src/dialects/ndjson.js';
import { withTag, type FakeCatalog } from './fake-catalog.js';
import { sendEmpty, sendJson } from './fake-http.js';
import type { Exchange } from './fake-ollama-inference.js';
import type { FakeResidency } from './fake-residency.js';

/**
 * The fake daemon's model-management endpoints: `/api/show`, `/api/pull`, `/api/push`,
 * `/api/create`, `/api/copy`, `DELETE /api/delete`. Minimal but shaped like Ollama's:
 * progress as NDJSON status lines, copy and delete answered with an empty 200.
 */

export function show(catalog: FakeCatalog, { res, body }: Exchange): void {
  const name = nameIn(body);
  if (!name) return sendJson(res, 400, { error: 'model is required' });
  const entry = catalog.get(name);
  if (!entry) return sendJson(res, 404, { error: `model '${name}' not found` });
  sendJson(res, 200, catalog.show(entry));
}

/** Any name can be pulled; it becomes a completion model unless its name says "embed". */
export function pull(catalog: FakeCatalog, { res, body }: Exchange): void {
  const name = nameIn(body);
  if (!name) return sendJson(res, 400, { error: 'model is required' });
  const entry = catalog.get(name) ?? catalog.add({ name, kind: /embed/i.test(name) ? 'embedding' : 'completion' });
  progress(res, body, [
    { status: 'pulling manifest' },
    { status: `pulling ${entry.digest.slice(0, 12)}`, digest: `sha256:${entry.digest}`, total: entry.size, completed: entry.size },
    { status: 'verifying sha256 digest' },
    { status: 'writing manifest' },
    { status: 'success' },
  ]);
}

export function push(catalog: FakeCatalog, { res, body }: Exchange): void {
  const name = nameIn(body) ?? '';
  const entry = catalog.get(name);
  if (!entry) return sendJson(res, 404, { error: `model '${name}' not found` });
  progress(res, body, [{ status: 'retrieving manifest' }, { status: `pushing ${entry.digest.slice(0, 12)}` }, { status: 'pushing manifest' }, { status: 'success' }]);
}

/** `from` an existing model copies its spec; without one, a default completion model. */
export function create(catalog: FakeCatalog, { res, body }: Exchange): void {
  const name = nameIn(body);
  if (!name) return sendJson(res, 400, { error: 'model is required' });
  const from = (body as { from?: unknown }).from;
  const base = typeof from === 'string' ? catalog.get(from) : undefined;
  if (typeof from === 'string' && !base) return sendJson(res, 404, { error: `model '${from}' not found` });
  catalog.add({ ...base?.spec, name });
  progress(res, body, [{ status: 'using existing layer' }, { status: 'writing manifest' }, { status: 'success' }]);
}

export function copy(catalog: FakeCatalog, { res, body }: Exchange): void {
  const { source, destination } = body as { source?: unknown; destination?: unknown };
  const entry = typeof source === 'string' ? catalog.get(source) : undefined;
  if (!entry || typeof destination !== 'string') return sendJson(res, 404, { error: `model "${String(source)}" not found` });
  catalog.add({ ...entry.spec, name: destination });
  sendEmpty(res, 200);
}

/** A deleted model also leaves memory. */
export function remove(catalog: FakeCatalog, residency: FakeResidency, { res, body }: Exchange): void {
  const name = nameIn(body) ?? '';
  if (!catalog.delete(name)) return sendJson(res, 404, { error: `model '${name}' not found` });
  residency.forget(withTag(name));
  sendEmpty(res, 200);
}

/** `model`, or the older `name` field Ollama still accepts. */
function nameIn(body: unknown): string | undefined {
  const { model, name } = (body ?? {}) as { model?: unknown; name?: unknown };
  const value = model ?? name;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Progress: NDJSON status lines, or only the last one with `stream: false`. */
function progress(res: ServerResponse, body: unknown, statuses: Array<Record<string, unknown>>): void {
  if ((body as { stream?: unknown }).stream === false) return sendJson(res, 200, statuses[statuses.length - 1]);
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  res.end(statuses.map(ndjsonLine).join(''));
}
