/**
 * Workers never outlive the gateway: a real gateway process is SIGKILLed (nothing can be
 * caught) and its worker must be gone within 5 s; a worker whose stdin pipe closes exits;
 * and a gateway starting up reaps what a dead one recorded, never a process whose pid was
 * reused for another command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveChildren, startTimeOf } from '../../src/backends/process/leftovers.js';
import { cachedModel } from '../support/cached-model.js';
import { TSX_LOADER, WORKER_ENTRY } from '../../src/worker/spawn-worker.js';
import { defaultChatSpec } from '../../src/gguf/index.js';
import { testGateway } from '../support/gateway.js';
import { goneWithin, serveProcess } from '../support/processes.js';

let dir: string;
let model: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-lifecycle-'));
  model = (await cachedModel(defaultChatSpec())).path;
});
afterAll(async () => {
  for (const child of started) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** `warmgate serve` on a config written to the test's folder; killed after the tests whatever happens. */
async function serve(config: object): Promise<{ child: ChildProcess; url: string }> {
  const file = join(dir, `config-${started.length}.json`);
  await writeFile(file, JSON.stringify(config));
  const served = await serveProcess(file);
  started.push(served.child);
  return served;
}

describe('workers die with the gateway', () => {
  it('a SIGKILLed gateway leaves no worker running 5 s later', async () => {
    const data = join(dir, 'data-kill');
    const { child, url } = await serve({
      data_dir: data,
      backends: { embedded: { kind: 'embedded' } },
      models: { chat: { backend: 'embedded', file: model, type: 'chat', threads: 1, ctx: 512 } },
    });
    expect((await fetch(`${url}/warmgate/models/chat/load`, { method: 'POST' })).status).toBe(200);
    const [worker] = liveChildren(join(data, 'run'));
    expect(worker.argv.join(' ')).toContain(model);
    expect(startTimeOf(worker.pid)).toBe(worker.start);

    child.kill('SIGKILL');
    console.info(`worker gone ${Math.round(await goneWithin(worker, 5_000))} ms after the gateway's SIGKILL`);
  });

  it('a worker started with --exit-with-stdin exits when its stdin closes', async () => {
    const worker = spawn(process.execPath, ['--import', TSX_LOADER, WORKER_ENTRY, '--model', model, '--ctx', '256', '--threads', '1', '--exit-with-stdin'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    started.push(worker);
    // Wait until it listens, so the exit is the pipe's doing and not a start-up failure.
    await new Promise<void>((resolve) => createInterface({ input: worker.stdout! }).on('line', (l) => l.includes('"listening"') && resolve()));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.stdin!.end();
    expect(await exited).toBe(0);
  });
});

describe('a gateway starting up reaps what a dead one left', () => {
  it('kills a recorded worker of a dead gateway, and spares a live process whose command differs', async () => {
    const data = join(dir, 'data-reap');
    const runDir = join(data, 'run');
    // A "leftover": a process running the recorded command. A "reused pid": a live process whose command is not the recorded one.
    const leftover = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'warmgate-leftover'], { stdio: 'ignore' });
    const unrelated = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'unrelated'], { stdio: 'ignore' });
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    started.push(leftover, unrelated);
    await new Promise((r) => gone.once('exit', r));
    const [leftStart, unrelatedStart] = [startTimeOf(leftover.pid!)!, startTimeOf(unrelated.pid!)!];
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, '999999-1.json'), JSON.stringify({
      gateway: { pid: gone.pid, start: '1' },
      children: [
        { pid: leftover.pid, start: leftStart, argv: [process.execPath, '-e', 'setInterval(() => {}, 1000)', 'warmgate-leftover'] },
        { pid: unrelated.pid, start: unrelatedStart, argv: [process.execPath, 'src/engine/worker.ts', '--model', model] },
      ],
    }));

    const gw = await testGateway({ data_dir: data, backends: { embedded: { kind: 'embedded' } }, models: {} });
    try {
      await goneWithin({ pid: leftover.pid!, start: leftStart }, 5_000);
      expect(startTimeOf(unrelated.pid!)).toBe(unrelatedStart);
      expect(await readdir(runDir)).not.toContain('999999-1.json');
    } finally {
      await gw.close();
    }
  });
});
