import { createHash } from 'node:crypto';
import { isX86, type CpuIdentity } from '../../memory/cpu-identity.js';

/**
 * The two ways Warmgate builds llama-server, as cmake flags, and the cache key of a build.
 *
 * - `native`: `-DGGML_NATIVE=ON` (`-march=native`), the fastest, tried first. On some VMs the
 *   CPU advertises features the hypervisor does not deliver (Intel AMX: `tilezero` dies with
 *   SIGILL at the first decode), and `-march=native` believes it.
 * - `portable`: `-DGGML_NATIVE=OFF` with every x86 ISA option set explicitly from the CPU's
 *   flags, AMX always off; on other arches the defaults. The fallback when native fails its
 *   check.
 *
 * In llama.cpp the arch flags are set on the ggml-cpu target only, so switching flavour in
 * one build dir recompiles ggml-cpu and relinks, nothing else.
 */

export const FLAVOURS = ['native', 'portable'] as const;
export type Flavour = (typeof FLAVOURS)[number];

/**
 * Every flavour: static, no curl (no download at run time), no prebuilt web UI (its download
 * at configure time would wait on a network that drops traffic; the gateway needs no UI),
 * only the llama-server target's deps.
 */
export const BASE_FLAGS = [
  '-DCMAKE_BUILD_TYPE=Release',
  '-DLLAMA_CURL=OFF',
  '-DLLAMA_USE_PREBUILT_UI=OFF',
  '-DBUILD_SHARED_LIBS=OFF',
  '-DLLAMA_BUILD_TESTS=OFF',
  '-DLLAMA_BUILD_EXAMPLES=OFF',
];

/** ggml's x86 options and the /proc/cpuinfo flags each one needs, all of them. */
const AVX512 = ['avx512f', 'avx512cd', 'avx512vl', 'avx512dq', 'avx512bw'];
const X86_OPTIONS: Array<[option: string, needs: string[]]> = [
  ['GGML_SSE42', ['sse4_2']],
  ['GGML_AVX', ['avx']],
  ['GGML_AVX2', ['avx2']],
  ['GGML_FMA', ['fma']],
  ['GGML_F16C', ['f16c']],
  ['GGML_BMI2', ['bmi2']],
  ['GGML_AVX512', AVX512],
  ['GGML_AVX512_VBMI', [...AVX512, 'avx512vbmi']],
  ['GGML_AVX512_VNNI', [...AVX512, 'avx512_vnni']],
  ['GGML_AVX512_BF16', [...AVX512, 'avx512_bf16']],
  ['GGML_AVX_VNNI', ['avx_vnni']],
];

/** Never on in the portable flavour, whatever the CPU claims: the instructions behind the SIGILL. */
const NEVER = ['GGML_AMX_TILE', 'GGML_AMX_INT8', 'GGML_AMX_BF16'];

/**
 * The cmake configure flags of a flavour on this CPU. Portable passes every x86 option ON or
 * OFF, so a build dir the native flavour left behind keeps no stale value; native ignores
 * them (with `-march=native` ggml reads none of them on gcc and clang).
 */
export function flavourFlags(flavour: Flavour, cpu: CpuIdentity): string[] {
  if (flavour === 'native') return [...BASE_FLAGS, '-DGGML_NATIVE=ON'];
  if (!isX86(cpu.arch)) return [...BASE_FLAGS, '-DGGML_NATIVE=OFF'];
  const has = new Set(cpu.flags);
  return [
    ...BASE_FLAGS,
    '-DGGML_NATIVE=OFF',
    ...X86_OPTIONS.map(([option, needs]) => `-D${option}=${needs.every((f) => has.has(f)) ? 'ON' : 'OFF'}`),
    ...NEVER.map((option) => `-D${option}=OFF`),
  ];
}

/**
 * The short hash naming a build's cache folder: the llama.cpp tag, the flavour's flags and
 * the CPU identity (arch + flags, not the model name). Any difference is another folder.
 */
export function buildKey(tag: string, flavour: Flavour, flags: readonly string[], cpu: CpuIdentity): string {
  const what = JSON.stringify({ tag, flavour, flags, arch: cpu.arch, cpuFlags: cpu.flags });
  return createHash('sha256').update(what).digest('hex').slice(0, 12);
}

export function isFlavour(value: string): value is Flavour {
  return (FLAVOURS as readonly string[]).includes(value);
}
