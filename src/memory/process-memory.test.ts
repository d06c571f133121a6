import { describe, expect, it } from 'vitest';
import { ownResidentMemory, parseProcStatus, residentMemory } from './process-memory.js';

const STATUS = `Name:\tllama-server
VmPeak:\t  912340 kB
VmRSS:\t  389472 kB
RssAnon:\t  332196 kB
RssFile:\t   54908 kB
RssShmem:\t    2368 kB
Threads:\t2
`;

describe('process memory', () => {
  it('splits /proc/PID/status into anonymous (with shared memory) and file-backed bytes', () => {
    expect(parseProcStatus(STATUS)).toEqual({ rss: 389472 * 1024, anon: (332196 + 2368) * 1024, file: 54908 * 1024 });
  });

  it('reads zeros for missing lines, and sums the parts when VmRSS is missing', () => {
    expect(parseProcStatus('Name:\tx\n')).toEqual({ rss: 0, anon: 0, file: 0 });
    expect(parseProcStatus('RssAnon:\t10 kB\nRssFile:\t5 kB\n')).toEqual({ rss: 15 * 1024, anon: 10 * 1024, file: 5 * 1024 });
  });

  it("reads this process's memory, and zeros for a process that is gone", async () => {
    const own = ownResidentMemory();
    expect(own.rss).toBeGreaterThan(0);
    expect(own.anon + own.file).toBeLessThanOrEqual(own.rss + 64 * 1024);
    expect(await residentMemory(2 ** 22 + 1)).toEqual({ rss: 0, anon: 0, file: 0 });
  });
});
