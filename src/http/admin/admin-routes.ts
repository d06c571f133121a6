import type { Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import { DASHBOARD_HTML } from '../ui/dashboard-page.js';

/** The gateway's own surface: the dashboard, recent request records, status, Prometheus metrics, residency control. */
export function registerAdmin(app: Hono, gw: Gateway): void {
  const { admin } = gw;

  app.get('/warmgate', (c) => c.html(DASHBOARD_HTML));

  /** Liveness for container healthchecks: answers at once, touches no backend. */
  app.get('/warmgate/health', (c) => c.json({ status: 'ok' }));

  app.get('/warmgate/requests', (c) => {
    const limit = Number(c.req.query('limit') ?? '100');
    return c.json({ requests: admin.recent(Number.isFinite(limit) && limit > 0 ? limit : 100) });
  });

  app.get('/warmgate/status', async (c) => c.json(await admin.status()));

  app.get('/metrics', async (c) => {
    const { text, contentType } = await admin.metrics();
    return c.text(text, 200, { 'content-type': contentType });
  });

  /** Re-reads the config file (as SIGHUP does); answers what changed, or 400 with the reason it was refused. */
  app.post('/warmgate/reload', async (c) => c.json(await admin.reload()));

  for (const action of ['load', 'unload'] as const) {
    app.post(`/warmgate/models/:name{.+}/${action}`, async (c) => {
      const model = await admin.residency(action, c.req.param('name'));
      return c.json({ model, status: action === 'load' ? 'loaded' : 'unloaded' });
    });
  }
}
