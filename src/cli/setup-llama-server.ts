import { execFileSync, spawnSync } from 'node:child_process';
import { cachedLlamaServer, llamaSource } from '../backends/process/llama-server-binary.js';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * `npm run setup:llama-server`: builds llama.cpp's `llama-server` from the source that the
 * node-llama-cpp package ships (`llama/gitRelease.bundle`), with no download, and caches
 * the binary outside the repo keyed by the llama.cpp tag, so it is built once per machine.
 * A second run finds the cached binary and does nothing.
 */

const TOOLS: Array<{ command: string; debian: string }> = [
  { command: 'cmake', debian: 'cmake' },
  { command: 'c++', debian: 'g++' },
  { command: 'git', debian: 'git' },
];

export async function setupLlamaServerCommand(argv: string[]): Promise<number> {
  const force = argv.includes('--force');
  const { bundle, tag } = llamaSource();
  const target = cachedLlamaServer(tag);
  if (!force && existsSync(target) && works(target)) {
    process.stdout.write(`llama-server ${tag} is ready: ${target}\n`);
    return 0;
  }
  const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t.command}`]).status !== 0);
  if (missing.length > 0) {
    process.stderr.write(`cannot build llama-server: missing ${missing.map((t) => t.command).join(', ')}. Install with: apt-get install -y ${missing.map((t) => t.debian).join(' ')}\n`);
    return 1;
  }
  const work = mkdtempSync(join(tmpdir(), 'warmgate-llama-'));
  try {
    const src = join(work, 'src');
    const build = join(work, 'build');
    const jobs = String(Math.max(1, cpus().length));
    process.stdout.write(`building llama-server ${tag} from ${bundle} (${jobs} jobs; this takes a while, once)\n`);
    run('git', ['clone', '--quiet', bundle, src]);
    run('cmake', [
      '-S', src, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', '-DBUILD_SHARED_LIBS=OFF',
      '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', '-DGGML_NATIVE=ON',
    ]);
    run('cmake', ['--build', build, '--target', 'llama-server', '--config', 'Release', '-j', jobs]);
    const built = join(build, 'bin', 'llama-server');
    if (!existsSync(built)) throw new Error(`the build finished but ${built} is missing`);
    mkdirSync(dirname(target), { recursive: true });
    // Copy beside, then rename: a concurrent reader never sees half a binary.
    copyFileSync(built, `${target}.partial`);
    chmodSync(`${target}.partial`, 0o755);
    renameSync(`${target}.partial`, target);
    if (!works(target)) throw new Error(`${target} was built but does not run`);
    process.stdout.write(`llama-server ${tag} is ready: ${target}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`building llama-server failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
}

function works(binary: string): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}
