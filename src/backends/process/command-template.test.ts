import { describe, expect, it } from 'vitest';
import { expandCommand, fixedMmap, llamaServerCommand } from './command-template.js';

const values = { PORT: 8081, MODEL: '/models/m.gguf', CTX: 4096, PARALLEL: 2, GPU_LAYERS: 0, EMBEDDING: false, MMAP: true };

describe('command templates', () => {
  it('expands the macros, and ${EMBEDDING} ${THREADS} ${MMAP} to flags or nothing', () => {
    expect(expandCommand(llamaServerCommand('/bin/llama-server'), values)).toEqual([
      '/bin/llama-server', '-m', '/models/m.gguf', '--host', '127.0.0.1', '--port', '8081', '-c', '4096', '-np', '2', '-ngl', '0',
    ]);
    expect(expandCommand(llamaServerCommand('ls'), { ...values, EMBEDDING: true, THREADS: 3, MMAP: false }).slice(-5)).toEqual([
      '0', '--embedding', '--threads', '3', '--no-mmap',
    ]);
  });

  it('keeps quoted words whole and refuses unknown macros', () => {
    expect(expandCommand(`"/opt/my llama/server" -m \${MODEL}`, values)).toEqual(['/opt/my llama/server', '-m', '/models/m.gguf']);
    expect(() => expandCommand('server --x ${NOPE}', values)).toThrow(/unknown macro \$\{NOPE\}/);
  });

  it('leaves mmap to the gateway only when the command has ${MMAP}', () => {
    expect(fixedMmap(llamaServerCommand(), [])).toBeUndefined();
    expect(fixedMmap('llama-server -m ${MODEL} --port ${PORT}', [])).toBe(true);
    expect(fixedMmap('llama-server -m ${MODEL} --no-mmap', [])).toBe(false);
    expect(fixedMmap('llama-server -m ${MODEL}', ['--no-mmap'])).toBe(false);
  });
});
