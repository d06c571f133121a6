import type { Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import { WarmgateError } from '../../errors.js';
import { errorResponse } from '../errors.js';
import { DASHBOARD_HTML } from '../ui/dashboard-page.js';

/** The gateway's own surface: the dashboard, recent request records, status, Prometheus metrics, residency control. */
export function registerAdmin(app: Hono, gw: Gateway): void {
  const { telemetry, residency, registry } = gw.parts;

  app.get('/warmgate', (c) => c.html(DASHBOARD_HTML));

  /** Liveness for container healthchecks: answers at once, touches no backend. */
  app.get('/warmgate/health', (c) => c.json({ status: 'ok' }));

  app.get('/warmgate/requests', (c) => {
    const limit = Number(c.req.query('limit') ?? '100');
    return c.json({ requests: telemetry.recent(Number.isFinite(limit) && limit > 0 ? limit : 100) });
  });

  app.get('/warmgate/status', (c) => c.json({ ...residency.status(), embeddings: gw.parts.embeddings.stats() }));

  app.get('/metrics', async (c) => c.text(await telemetry.metrics.text(), 200, { 'content-type': telemetry.metrics.registry.contentType }));

  for (const action of ['load', 'unload'] as const) {
    app.post(`/warmgate/models/:name{.+}/${action}`, async (c) => {
      try {
        const name = c.req.param('name');
        const entry = await registry.resolve(name);
        if (!entry) throw new WarmgateError('MODEL_NOT_FOUND', `model "${name}" not found`);
        await residency[action](entry);
        return c.json({ model: entry.name, status: action === 'load' ? 'loaded' : 'unloaded' });
      } catch (err) {
        return errorResponse(c, 'admin', err);
      }
    });
  }
}
