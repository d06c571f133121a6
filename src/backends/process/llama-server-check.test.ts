import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedLlamaServer } from './llama-server-binary.js';
import { checkLlamaServer } from './llama-server-check.js';

const dir = mkdtempSync(join(tmpdir(), 'warmgate-check-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in llama-server: a shell script with the given body. */
function fakeServer(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('checkLlamaServer', () => {
  // No skip when it is missing: `npm test` runs `npm run setup:llama-server` first (pretest),
  // which leaves a checked binary for this CPU or fails the run.
  it('passes with the cached llama-server: tokens back, a 256-wide finite embedding', async () => {
    const bin = cachedLlamaServer();
    if (!existsSync(bin)) throw new Error(`llama-server is not built (no ${bin}): run \`npm run setup:llama-server\``);
    const result = await checkLlamaServer(bin);
    expect(result).toMatchObject({ ok: true, embeddingOk: true });
    expect(result.error).toBeUndefined();
    expect(result.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(result.seconds).toBeLessThan(30);
  });

  it('names the signal and the last output when the process dies (the AMX case)', async () => {
    const bin = fakeServer('sigill', 'echo "load_tensors: loading model" >&2\nkill -s ILL $$');
    const result = await checkLlamaServer(bin);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/killed by SIGILL \(an instruction this CPU does not execute\) while loading/);
    expect(result.error).toContain('load_tensors: loading model');
  });

  it('names the exit code of a process that exits', async () => {
    const result = await checkLlamaServer(fakeServer('exit3', 'echo "error: unknown argument" >&2\nexit 3'));
    expect(result.error).toMatch(/llama-server exited with code 3 while loading; last output: error: unknown argument/);
  });

  it('fails on a binary that cannot be started', async () => {
    const result = await checkLlamaServer(join(dir, 'no-such-binary'));
    expect(result).toMatchObject({ ok: false, embeddingOk: false });
    expect(result.error).toMatch(/could not be started \(spawn .* ENOENT\)/);
  });

  it('fails when /health never turns 200', async () => {
    const result = await checkLlamaServer(fakeServer('silent', 'exec sleep 30'), { timeoutMs: 300 });
    expect(result.error).toMatch(/\/health did not answer 200 within 0.3 s/);
  });
});
