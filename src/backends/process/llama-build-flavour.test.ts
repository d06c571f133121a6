import { describe, expect, it } from 'vitest';
import { parseCpuInfo } from '../../memory/cpu-identity.js';
import { EPYC_ZEN4, HASWELL_AVX2, NEOVERSE_N1, SAPPHIRE_RAPIDS } from '../../../test/fixtures/cpuinfo.js';
import { BASE_FLAGS, buildKey, flavourFlags, isFlavour } from './llama-build-flavour.js';

const sapphire = parseCpuInfo(SAPPHIRE_RAPIDS, 'x86_64');
const zen4 = parseCpuInfo(EPYC_ZEN4, 'x86_64');
const haswell = parseCpuInfo(HASWELL_AVX2, 'x86_64');
const n1 = parseCpuInfo(NEOVERSE_N1, 'aarch64');

/** The -D options of a flag list as { option: value }, base flags left out. */
function options(flags: string[]): Record<string, string> {
  return Object.fromEntries(flags.filter((f) => !BASE_FLAGS.includes(f)).map((f) => f.slice(2).split('=') as [string, string]));
}

describe('flavourFlags', () => {
  it('native is the base flags plus GGML_NATIVE=ON, on every CPU', () => {
    const native = ['-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', '-DLLAMA_USE_PREBUILT_UI=OFF', '-DBUILD_SHARED_LIBS=OFF', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', '-DGGML_NATIVE=ON'];
    for (const cpu of [sapphire, zen4, haswell, n1]) expect(flavourFlags('native', cpu)).toEqual(native);
  });

  it('portable on Sapphire Rapids: every AVX-512 option it has, AMX never', () => {
    expect(options(flavourFlags('portable', sapphire))).toEqual({
      GGML_NATIVE: 'OFF', GGML_SSE42: 'ON', GGML_AVX: 'ON', GGML_AVX2: 'ON', GGML_FMA: 'ON', GGML_F16C: 'ON', GGML_BMI2: 'ON',
      GGML_AVX512: 'ON', GGML_AVX512_VBMI: 'ON', GGML_AVX512_VNNI: 'ON', GGML_AVX512_BF16: 'ON', GGML_AVX_VNNI: 'ON',
      GGML_AMX_TILE: 'OFF', GGML_AMX_INT8: 'OFF', GGML_AMX_BF16: 'OFF',
    });
  });

  it('portable on EPYC Zen 4: the same AVX-512 set (no AMX to begin with)', () => {
    expect(options(flavourFlags('portable', zen4))).toEqual(options(flavourFlags('portable', sapphire)));
  });

  it('portable on an AVX2-only CPU: AVX-512 and VNNI off', () => {
    expect(options(flavourFlags('portable', haswell))).toEqual({
      GGML_NATIVE: 'OFF', GGML_SSE42: 'ON', GGML_AVX: 'ON', GGML_AVX2: 'ON', GGML_FMA: 'ON', GGML_F16C: 'ON', GGML_BMI2: 'ON',
      GGML_AVX512: 'OFF', GGML_AVX512_VBMI: 'OFF', GGML_AVX512_VNNI: 'OFF', GGML_AVX512_BF16: 'OFF', GGML_AVX_VNNI: 'OFF',
      GGML_AMX_TILE: 'OFF', GGML_AMX_INT8: 'OFF', GGML_AMX_BF16: 'OFF',
    });
  });

  it('AVX512 needs all of f, cd, vl, dq and bw; its extensions need it too', () => {
    const noBw = { ...zen4, flags: zen4.flags.filter((f) => f !== 'avx512bw') };
    const o = options(flavourFlags('portable', noBw));
    expect([o.GGML_AVX512, o.GGML_AVX512_VBMI, o.GGML_AVX512_VNNI, o.GGML_AVX512_BF16]).toEqual(['OFF', 'OFF', 'OFF', 'OFF']);
    expect(o.GGML_AVX_VNNI).toBe('ON');
  });

  it('portable elsewhere (ARM64) is GGML_NATIVE=OFF with the defaults', () => {
    expect(flavourFlags('portable', n1)).toEqual([...BASE_FLAGS, '-DGGML_NATIVE=OFF']);
  });

  it('portable with no flags known builds for the x86-64 baseline', () => {
    const o = options(flavourFlags('portable', { arch: 'x86_64', model: '', flags: [] }));
    expect(Object.entries(o).filter(([, v]) => v === 'ON')).toEqual([]);
  });
});

describe('buildKey', () => {
  const key = (flavour: 'native' | 'portable', cpu = zen4, tag = 'v0.5.0') => buildKey(tag, flavour, flavourFlags(flavour, cpu), cpu);

  it('is a short stable hash', () => {
    expect(key('native')).toMatch(/^[0-9a-f]{12}$/);
    expect(key('native')).toBe(key('native'));
  });

  it('differs by tag, flavour and CPU flags, not by the model name', () => {
    const keys = [key('native'), key('portable'), key('native', haswell), key('native', sapphire), key('native', zen4, 'v0.6.0')];
    expect(new Set(keys).size).toBe(keys.length);
    expect(key('native', { ...zen4, model: 'renamed' })).toBe(key('native'));
  });

  it('differs by arch with the same flags', () => {
    expect(key('native', { ...n1, arch: 'armv7l' })).not.toBe(key('native', n1));
  });
});

describe('isFlavour', () => {
  it('accepts native and portable only', () => {
    expect(['native', 'portable', 'fast', ''].map(isFlavour)).toEqual([true, true, false, false]);
  });
});
