/**
 * `npm run bench -- lines [--json] [--mb 10,20,40] [--chunk-kb 64]`: how long the upstream
 * line splitter (`textLines`, behind every NDJSON and SSE stream the gateway reads) takes
 * for one very long line arriving in chunks. Linear is the target: a 40 MB line took
 * 15.9 s with the old quadratic splitter and blocked the event loop all that time.
 */
import { parseArgs } from 'node:util';
import { textLines } from '../src/dialects/ndjson.js';
import type { BenchOptions, BenchResult } from './run.js';
import { round } from './util.js';

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const { values } = parseArgs({ args: opts.args, options: { mb: { type: 'string', default: '10,20,40' }, 'chunk-kb': { type: 'string', default: '64' } } });
  const chunk = new TextEncoder().encode('y'.repeat(Number(values['chunk-kb']) * 1024));
  const cases = [];
  for (const mb of values.mb.split(',').map(Number)) {
    const chunks = Math.ceil((mb * 1024 * 1024) / chunk.length);
    const body = (async function* () {
      for (let i = 0; i < chunks; i++) yield chunk;
      yield new TextEncoder().encode('\n');
    })();
    const t0 = performance.now();
    let chars = 0;
    for await (const line of textLines(body)) chars += line.length;
    const ms = round(performance.now() - t0, 1);
    opts.log(`${mb} MB line in ${values['chunk-kb']} KiB chunks: ${ms} ms`);
    cases.push({ mb, chars, ms, ms_per_mb: round(ms / mb, 2) });
  }
  return { chunk_kb: Number(values['chunk-kb']), cases };
}
