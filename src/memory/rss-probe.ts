// scratch v0
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { readFileSync } from 'node:fs';
const args = JSON.parse(process.argv[2] ?? '{}') as { file?: string; ctx?: number; parallel?: number; embedding?: boolean; promptTokens?: number };
const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const status = () => Object.fromEntries(readFileSync('/proc/self/status', 'utf8').split('\n').filter((l) => /^(VmRSS|RssAnon|RssFile|RssShmem)/.test(l)).map((l) => [l.split(':')[0], Number(l.split(/\s+/)[1]) * 1024]));
if (args.file) {
  const model = await llama.loadModel({ modelPath: args.file, useMmap: true, gpuLayers: 0 });
  const afterLoad = status();
  if (args.embedding) {
    const ctx = await model.createEmbeddingContext({ contextSize: args.ctx, threads: 1 });
    await ctx.getEmbeddingFor('hello world');
  } else {
    const ctx = await model.createContext({ contextSize: args.ctx, sequences: args.parallel ?? 1, threads: 1 });
    const seq = ctx.getSequence();
    const toks = args.promptTokens ? Array.from({length: args.promptTokens}, (_, i) => model.tokenize('hello the world of words')[i % 5]) : model.tokenize('hello world');
    for await (const t of seq.evaluate(toks)) { break; }
  }
  console.log(JSON.stringify({ rss: process.memoryUsage().rss, afterLoad, final: status() }));
} else {
  console.log(JSON.stringify({ rss: process.memoryUsage().rss, final: status() }));
}
