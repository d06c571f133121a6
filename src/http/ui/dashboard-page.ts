/**
 * The dashboard: one self-contained HTML page (no build step, no external assets) that polls
 * `/warmgate/status` and `/warmgate/requests` every two seconds and shows what is resident,
 * the memory ledger per pool, queues, and where each recent request's time went.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Warmgate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f6f7f9; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; } h2 { font-size: 1rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e4e7ec; white-space: nowrap; }
  th { font-weight: 600; color: #4a5468; background: #eef0f4; }
  .bar { display: flex; height: .8rem; min-width: 12rem; background: #eef0f4; border-radius: 3px; overflow: hidden; }
  .bar span { display: block; height: 100%; }
  .queue { background: #9aa5b8; } .load { background: #e0a030; } .prompt { background: #4d8fd6; } .gen { background: #3aa676; }
  .used { background: #4d8fd6; }
  .ready { color: #2d8a5c; font-weight: 600; } .loading, .unloading { color: #c07a12; font-weight: 600; } .unloaded { color: #8a93a5; }
  .err { color: #c0392b; } .muted { color: #8a93a5; } .legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .25rem 0 .8rem; vertical-align: -1px; }
  #counters { display: flex; gap: 1.5rem; flex-wrap: wrap; } #counters div { background: #fff; padding: .5rem .8rem; border-radius: 4px; }
  #counters b { display: block; font-size: 1.2rem; }
</style>
</head>
<body>
<h1>Warmgate</h1>
<div id="counters"></div>
<h2>Memory</h2><table id="pools"></table>
<h2>Models</h2><table id="models"></table>
<h2>Recent requests <span class="legend muted"><span class="queue"></span>queue<span class="load"></span>load<span class="prompt"></span>prompt<span class="gen"></span>generation</span></h2>
<table id="requests"></table>
<p class="muted" id="updated"></p>
<script>
const mib = (b) => b == null ? '' : (b / 1048576).toFixed(0) + ' MiB';
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const sum = (o) => Object.values(o || {}).reduce((a, b) => a + b, 0);
function table(el, head, rows) {
  el.innerHTML = '<tr>' + head.map((h) => '<th>' + h + '</th>').join('') + '</tr>'
    + (rows.length ? rows.join('') : '<tr><td class="muted" colspan="' + head.length + '">none</td></tr>');
}
function timing(r) {
  const phases = [['queue', r.queue_ms], ['load', r.load_ms], ['prompt', r.prompt_ms], ['gen', r.gen_ms]];
  const total = Math.max(r.total_ms, 1);
  return '<div class="bar">' + phases.filter(([, v]) => v > 0).map(([k, v]) => '<span class="' + k + '" title="' + k + ' ' + v + ' ms" style="width:' + (100 * v / total).toFixed(1) + '%"></span>').join('') + '</div>';
}
async function refresh() {
  try {
    const [status, recent] = await Promise.all([fetch('/warmgate/status').then((r) => r.json()), fetch('/warmgate/requests?limit=50').then((r) => r.json())]);
    const c = status.counters || {};
    const cache = status.embeddings?.cache;
    document.getElementById('counters').innerHTML = [['loads', c.loads], ['evictions', c.evictions], ['reloads avoided', c.reloadsAvoided], ['rejected', c.rejections],
      ['embedding cache hit rate', cache ? (100 * cache.hitRate).toFixed(0) + '%' : ''], ['mean batch', status.embeddings?.batching?.meanBatchSize?.toFixed?.(1)]]
      .map(([k, v]) => '<div><b>' + esc(v ?? 0) + '</b>' + k + '</div>').join('');
    table(document.getElementById('pools'), ['pool', 'used', 'budget', ''], (status.pools || []).map((p) =>
      '<tr><td>' + esc(p.name) + '</td><td>' + mib(p.used) + '</td><td>' + mib(p.budget) + '</td><td><div class="bar"><span class="used" style="width:' + Math.min(100, 100 * p.used / Math.max(p.budget, 1)).toFixed(1) + '%"></span></div></td></tr>'));
    table(document.getElementById('models'), ['model', 'state', 'estimated', 'measured', 'RAM anon / file', 'GPU layers', 'in flight', 'queued', 'oldest wait', 'unloads in', 'last error'], (status.models || []).map((m) =>
      '<tr><td>' + esc(m.name) + (m.pinned ? ' 📌' : '') + '</td><td class="' + esc(m.state) + '">' + esc(m.state) + '</td><td>' + mib(sum(m.estimatedBytes)) + '</td><td>' + (m.measuredBytes ? mib(sum(m.measuredBytes)) : '') +
      '</td><td>' + (m.residentRam ? mib(m.residentRam.anon) + ' / ' + mib(m.residentRam.file) : '') + '</td><td>' + esc(m.gpuLayers ?? '') + '</td><td>' + m.inFlight + '/' + m.maxParallel + '</td><td>' + m.queued + '</td><td>' + (m.oldestWaitMs != null ? Math.round(m.oldestWaitMs) + ' ms' : '') + '</td><td>' + (m.expiresInMs != null ? Math.ceil(m.expiresInMs / 1000) + ' s' : '') + '</td><td class="err">' + esc(m.lastError) + '</td></tr>'));
    table(document.getElementById('requests'), ['time', 'route', 'model', 'status', 'total', 'ttft', 'tokens/s', 'where the time went', 'notes'], (recent.requests || []).map((r) =>
      '<tr><td>' + new Date(r.start).toLocaleTimeString() + '</td><td>' + esc(r.route) + '</td><td>' + esc(r.model) + '</td><td class="' + (r.status >= 400 ? 'err' : '') + '">' + r.status + '</td><td>' + r.total_ms + ' ms</td><td>' +
      (r.ttft_ms != null ? r.ttft_ms + ' ms' : '') + '</td><td>' + esc(r.tokens_per_s ?? '') + '</td><td>' + timing(r) + '</td><td class="muted">' +
      esc([r.cache_hit && 'cache hit', r.coalesced && 'coalesced', r.batched_with > 1 && 'batched ×' + r.batched_with, r.overrides && 'pinned ' + Object.keys(r.overrides).join(', '), r.error].filter(Boolean).join('; ')) + '</td></tr>'));
    document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById('updated').textContent = 'cannot reach the gateway: ' + e;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
