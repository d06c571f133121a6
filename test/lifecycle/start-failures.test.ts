/** Start-up failures a user causes get one line naming the fix and an exit code, not a stack trace. */
import { createServer } from 'node:net';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { serveCommand } from '../../src/cli/serve.js';

let dir: string;
let stderr: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-start-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function captureStderr(): void {
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr.push(String(chunk));
    return true;
  });
}

/** A config that starts fast: an Ollama backend nobody runs, logs off. */
async function quickConfig(extra: object = {}): Promise<string> {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify({ log: { level: 'silent' }, data_dir: join(dir, 'data'), backends: { o: { kind: 'ollama', url: 'http://127.0.0.1:1' } }, ...extra }));
  return file;
}

describe('start-up failures', () => {
  it('a port in use: one line, exit 1', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      captureStderr();
      expect(await serveCommand(['--config', await quickConfig(), '--port', String(port)])).toBe(1);
      expect(stderr.join('')).toBe(`warmgate: cannot listen on 127.0.0.1:${port}: the port is in use; pick another with --port or server.port\n`);
    } finally {
      busy.close();
    }
  });

  it('an address no interface has: one line, exit 1', async () => {
    captureStderr();
    expect(await serveCommand(['--config', await quickConfig(), '--host', '192.0.2.1', '--port', '0'])).toBe(1);
    expect(stderr.join('')).toMatch(/^warmgate: cannot listen on 192\.0\.2\.1:0: no network interface has the address 192\.0\.2\.1.*\n$/);
  });

  it('a model file with no backend to run it: one line, exit 2', async () => {
    const file = join(dir, 'two.json');
    await writeFile(file, JSON.stringify({
      log: { level: 'silent' },
      backends: { a: { kind: 'ollama', url: 'http://127.0.0.1:1' }, b: { kind: 'ollama', url: 'http://127.0.0.1:2' } },
      models: { x: { file: '/nope.gguf' } },
    }));
    captureStderr();
    expect(await serveCommand(['--config', file, '--port', '0'])).toBe(2);
    expect(stderr.join('')).toMatch(/^warmgate: invalid config: models\.x\.backend is required.*\n$/);
  });
});
