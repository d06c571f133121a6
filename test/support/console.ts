import { vi } from 'vitest';

/** Captures what a CLI command prints with console.log / console.error (restored by vi.restoreAllMocks). */
export function captureConsole(): { out: () => string; err: () => string } {
  const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  return { out: () => out.mock.calls.flat().join('\n'), err: () => err.mock.calls.flat().join('\n') };
}
