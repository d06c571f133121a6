/**
 * `npm run bench -- NAME [--json] [args...]`: runs `bench/NAME.ts`, whose `run(opts)`
 * returns its figures. Without --json they are printed as a table; with it, as one JSON document.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchOptions {
  json: boolean;
  args: string[];
  /** Progress lines go to stderr so `--json` output stays parseable. */
  log: (line: string) => void;
}

export type BenchResult = Record<string, unknown>;

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'util.ts'].includes(f) && !f.endsWith('.test.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [--json]`);
  process.exit(2);
}
const json = rest.includes('--json');
const opts: BenchOptions = { json, args: rest.filter((a) => a !== '--json'), log: (l) => console.error(l) };
const mod = (await import(join(here, `${name}.ts`))) as { run: (o: BenchOptions) => Promise<BenchResult> };
const result = await mod.run(opts);
if (json) console.log(JSON.stringify(result, null, 2));
else printTable(result);
process.exit(0);

function printTable(result: BenchResult, prefix = ''): void {
  for (const [key, value] of Object.entries(result)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      console.log(`${prefix}${key}:`);
      printTable(value as BenchResult, `${prefix}  `);
    } else {
      console.log(`${prefix}${key.padEnd(28 - prefix.length)} ${Array.isArray(value) ? JSON.stringify(value) : String(value)}`);
    }
  }
}
