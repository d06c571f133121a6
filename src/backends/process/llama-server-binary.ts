import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Where llama.cpp's llama-server comes from without a download: the source node-llama-cpp
 * ships (`llama/gitRelease.bundle`, tag in `llama/llama.cpp.info.json`), built once per
 * machine by `npm run setup:llama-server` into a cache keyed by that tag.
 */

export interface LlamaSource {
  bundle: string;
  tag: string;
}

export function llamaSource(): LlamaSource {
  // The package does not export its package.json: walk up from its entry point instead.
  let pkg = dirname(createRequire(import.meta.url).resolve('node-llama-cpp'));
  while (!existsSync(join(pkg, 'llama', 'llama.cpp.info.json'))) {
    if (dirname(pkg) === pkg) throw new Error('cannot find the llama.cpp source inside node-llama-cpp (llama/llama.cpp.info.json)');
    pkg = dirname(pkg);
  }
  const info = JSON.parse(readFileSync(join(pkg, 'llama', 'llama.cpp.info.json'), 'utf8')) as { tag: string };
  return { bundle: join(pkg, 'llama', 'gitRelease.bundle'), tag: info.tag };
}

/** Where the binary for this llama.cpp tag lives: `$WARMGATE_CACHE_DIR` or `~/.cache/warmgate`. */

export function cachedLlamaServer(tag = llamaSource().tag): string {
  const root = process.env.WARMGATE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'warmgate');
  return join(root, 'llama-server', tag, 'llama-server');
}

/** The binary the default llama-server command runs: the cached build if there is one, else `llama-server` on PATH. */

export function defaultLlamaServerBinary(): string {
  const cached = cachedLlamaServer();
  return existsSync(cached) ? cached : 'llama-server';
}
