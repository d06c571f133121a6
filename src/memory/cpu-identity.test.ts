import { describe, expect, it } from 'vitest';
import { isX86, parseCpuInfo, readCpuIdentity } from './cpu-identity.js';
import { EPYC_ZEN4, HASWELL_AVX2, NEOVERSE_N1, SAPPHIRE_RAPIDS } from '../../test/fixtures/cpuinfo.js';

describe('parseCpuInfo', () => {
  it('reads the x86 flags line, sorted, and the model name', () => {
    const cpu = parseCpuInfo(SAPPHIRE_RAPIDS, 'x86_64');
    expect(cpu.arch).toBe('x86_64');
    expect(cpu.model).toBe('Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz');
    expect(cpu.flags).toEqual([...cpu.flags].sort());
    expect(cpu.flags).toEqual(expect.arrayContaining(['amx_tile', 'amx_int8', 'amx_bf16', 'avx512f', 'avx512_vnni']));
    // The `bugs` line is not a feature.
    expect(cpu.flags).not.toContain('spectre_v1');
  });

  it('reads the ARM Features line; the model is the implementer and part', () => {
    const cpu = parseCpuInfo(NEOVERSE_N1, 'aarch64');
    expect(cpu.flags).toEqual(['aes', 'asimd', 'asimddp', 'asimdhp', 'asimdrdm', 'atomics', 'cpuid', 'crc32', 'dcpop', 'evtstrm', 'fp', 'fphp', 'lrcpc', 'pmull', 'sha1', 'sha2', 'ssbs']);
    expect(cpu.model).toBe('implementer 0x41 part 0xd0c');
  });

  it('keeps only the flags every processor has', () => {
    const text = 'processor : 0\nflags : sse avx avx2\n\nprocessor : 1\nflags : sse avx\n';
    expect(parseCpuInfo(text, 'x86_64').flags).toEqual(['avx', 'sse']);
  });

  it('gives no flags when there is no flags line', () => {
    expect(parseCpuInfo('', 'x86_64')).toEqual({ arch: 'x86_64', model: '', flags: [] });
  });

  it('tells the fixtures apart', () => {
    const ids = [SAPPHIRE_RAPIDS, EPYC_ZEN4, HASWELL_AVX2].map((t) => JSON.stringify(parseCpuInfo(t, 'x86_64').flags));
    expect(new Set(ids).size).toBe(3);
  });

  it('reads this machine', () => {
    const cpu = readCpuIdentity();
    expect(cpu.arch).not.toBe('');
    if (process.platform === 'linux' && isX86(cpu.arch)) expect(cpu.flags).toContain('sse2');
  });
});

describe('isX86', () => {
  it('knows the x86 machine names', () => {
    expect(['x86_64', 'amd64', 'i686'].map(isX86)).toEqual([true, true, true]);
    expect(['aarch64', 'arm64', 'riscv64', 'ppc64le'].map(isX86)).toEqual([false, false, false, false]);
  });
});
