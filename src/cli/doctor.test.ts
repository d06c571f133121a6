import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureConsole } from '../../test/support/console.js';
import { doctorCommand } from './doctor.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('doctor', () => {
  it('reports the CPU, the kernels each runtime loads, the budgets and the checked llama-server', async () => {
    const io = captureConsole();
    expect(await doctorCommand(['--json'])).toBe(0);
    const report = JSON.parse(io.out());
    expect(report.ok).toBe(true);
    expect(report.cpu.arch).toBeTruthy();
    // node-llama-cpp really started and named the CPU backend it loaded.
    expect(report.embedded.variant).toMatch(/\w/);
    expect(Object.keys(report.embedded.repacks)).toEqual(['AMX', 'CPU_REPACK']);
    expect(report.memory.budgets.ram).toBeGreaterThan(0);
    // npm test's pretest builds and checks llama-server first, so doctor finds it and checks it again.
    expect(report.llama_server.check).toMatchObject({ ok: true, embeddingOk: true });
  });

  it('fails, naming the backend, when an Ollama daemon does not answer', async () => {
    const io = captureConsole();
    expect(await doctorCommand(['--ollama', 'http://127.0.0.1:1'])).toBe(1);
    expect(io.out()).toMatch(/FAIL\s+backend ollama \(ollama\): http:\/\/127\.0\.0\.1:1 does not answer/);
    expect(io.out()).toMatch(/; breaker: out after 3 failures, probed after 5-60 s$/m);
    expect(io.out()).toMatch(/^budgets\s+ram /m);
  });

  it('refuses a bad flag with exit code 2', async () => {
    const io = captureConsole();
    expect(await doctorCommand(['--nope'])).toBe(2);
    expect(io.err()).toMatch(/nope/);
  });
});
