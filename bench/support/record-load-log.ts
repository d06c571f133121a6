/**
 * `npx tsx bench/support/record-load-log.ts --type q4_0 --out FILE [--size 20MB] [--no-mmap] [--all]`
 *
 * Records what llama.cpp (through node-llama-cpp) says while it loads a synthetic chat model
 * CPU-only: which weights ggml repacks into its CPU_REPACK buffer (Q4_0 matrices with a row
 * count ne[1] divisible by 8, on AVX2 x86 CPUs), which buffers it allocates and how big, and
 * which CPU backend it loaded. Then one token is evaluated and the process RSS split is read
 * from /proc/self/status, so mmap'd vs copied vs repacked weights can be told apart.
 *
 * The model is `specForSize(--size, q4_0)`'s shape with its vocabulary rounded down to a
 * multiple of 8 (as real vocabularies are, so output.weight qualifies for repacking too),
 * stored as --type: the same shape whatever the type, so q4_0, q8_0 and f16 logs compare.
 *
 * FILE gets one comment line (CPU, its avx2/avx512f/amx_int8 flags, node-llama-cpp and
 * llama.cpp versions, the spec, this command), then the debug lines that mention repacking,
 * buffers and backends (all of them with --all), then comment lines with llama.cpp's system
 * info and the RSS split. Run one model per process: that is what RSS is measured for.
 * Fixtures live in test/fixtures/load-logs/<cpu>-<type>.log.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, getModuleVersion, LlamaLogLevel } from 'node-llama-cpp';
import { parseBytes } from '../../src/config/units.js';
import { parseModelSpec, specForSize, TENSOR_TYPES, writeModel, type TensorType } from '../../src/gguf/index.js';

/** The debug lines worth keeping: repacking, buffer types and sizes, backend loading. */
export const LOAD_LOG_PATTERN = /repack|CPU_REPACK|buffer size|AMX|load_backend|CPU_Mapped|model buffer/i;

const USAGE = `usage: record-load-log.ts --type ${TENSOR_TYPES.join('|')} --out FILE [--size 20MB] [--no-mmap] [--all]`;

interface Rss {
  VmRSS: number;
  RssAnon: number;
  RssFile: number;
  RssShmem: number;
}

/** The RSS split of this process, in kB, as the kernel reports it. */
function readRss(): Rss {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { VmRSS: kb('VmRSS'), RssAnon: kb('RssAnon'), RssFile: kb('RssFile'), RssShmem: kb('RssShmem') };
}

function formatRss(r: Rss): string {
  const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;
  return `VmRSS ${mb(r.VmRSS)}, RssAnon ${mb(r.RssAnon)}, RssFile ${mb(r.RssFile)}, RssShmem ${mb(r.RssShmem)}`;
}

/** "AMD EPYC; flags avx2 avx512f (no amx_int8)", from /proc/cpuinfo. */
function describeCpu(): string {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? 'unknown CPU';
  const family = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1];
  const modelNo = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
  const flags = new Set(/^flags\s*:\s*(.*)$/m.exec(info)?.[1]?.split(/\s+/) ?? []);
  const wanted = ['avx2', 'avx512f', 'amx_int8'];
  const has = wanted.filter((f) => flags.has(f));
  const lacks = wanted.filter((f) => !flags.has(f));
  const id = family ? ` (family ${family} model ${modelNo})` : '';
  return `${model}${id}; flags ${has.join(' ') || 'none'}${lacks.length ? ` (no ${lacks.join(', no ')})` : ''}`;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      type: { type: 'string' },
      out: { type: 'string' },
      size: { type: 'string', default: '20MB' },
      'no-mmap': { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const type = values.type?.toLowerCase();
  const target = parseBytes(values.size);
  if (!type || !(TENSOR_TYPES as readonly string[]).includes(type) || !values.out || !target) {
    console.error(USAGE);
    return 2;
  }
  const useMmap = !values['no-mmap'];
  const shape = specForSize(target, { tensorType: 'q4_0' });
  const spec = parseModelSpec({ ...shape, vocab: shape.vocab - (shape.vocab % 8), tensorType: type as TensorType, ctx: 2048 });

  const dir = await mkdtemp(join(tmpdir(), 'warmgate-load-log-'));
  const lines: string[] = [];
  try {
    const modelPath = join(dir, `model-${type}.gguf`);
    const { bytes } = await writeModel(modelPath, spec);
    const llama = await getLlama({
      gpu: false,
      logLevel: LlamaLogLevel.debug,
      logger: (level, message) => {
        for (const line of message.split('\n')) if (line.trim()) lines.push(`[${level}] ${line.trimEnd()}`);
      },
    });
    const before = readRss();
    const model = await llama.loadModel({ modelPath, useMmap, gpuLayers: 0 });
    const loaded = readRss();
    const context = await model.createContext({ contextSize: 512, threads: 1 });
    const sequence = context.getSequence();
    await sequence.evaluate(model.tokenize('hello', true)).next(); // evaluate the prompt, sample one token
    const after = readRss();

    const outArg = isAbsolute(values.out) && relative(process.cwd(), values.out).startsWith('..') ? values.out : relative(process.cwd(), values.out);
    const command = `npx tsx bench/support/record-load-log.ts --type ${type} --out ${outArg}` +
      `${values.size !== '20MB' ? ` --size ${values.size}` : ''}${useMmap ? '' : ' --no-mmap'}${values.all ? ' --all' : ''}`;
    const { name: _name, ...dims } = spec;
    const header =
      `# cpu: ${describeCpu()}; node-llama-cpp ${await getModuleVersion()} (llama.cpp release ${llama.llamaCppRelease.release}, ${llama.buildType} binaries); ` +
      `model: ${JSON.stringify(dims)} (${bytes} bytes), useMmap ${useMmap}, gpuLayers 0, contextSize 512, threads 1; command: ${command}`;
    const kept = values.all ? lines : lines.filter((l) => LOAD_LOG_PATTERN.test(l));
    const footer = [
      `# system info: ${llama.systemInfo.trim()}`,
      `# rss before loadModel: ${formatRss(before)}`,
      `# rss after loadModel:  ${formatRss(loaded)}`,
      `# rss after one token:  ${formatRss(after)}`,
    ];
    await mkdir(dirname(values.out), { recursive: true });
    await writeFile(values.out, [header, ...kept, ...footer].join('\n') + '\n');
    console.log(`${values.out}: ${kept.length} of ${lines.length} log lines; after one token ${formatRss(after)}`);

    await context.dispose();
    await model.dispose();
    await llama.dispose();
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
