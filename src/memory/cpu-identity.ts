import { readFileSync } from 'node:fs';
import { machine } from 'node:os';

/**
 * The CPU a llama-server binary is built for: the machine architecture and the feature flags
 * the kernel reports (the x86 `flags` line, the ARM `Features` line). A native build is only
 * as good as the CPU it was compiled on, so this identity is part of the binary's cache key:
 * a cache copied from, or left by, another CPU never matches.
 */

export interface CpuIdentity {
  /** `uname -m`: x86_64, aarch64, ... (cmake's CMAKE_SYSTEM_PROCESSOR). */
  arch: string;
  /** For people reading a manifest (`model name`, or ARM's implementer and part); not in the key. */
  model: string;
  /** Sorted; the flags every processor has (a binary must run on every core). */
  flags: string[];
}

/** Parses /proc/cpuinfo text. No flags line (a locked-down /proc, another OS) gives no flags. */
export function parseCpuInfo(text: string, arch: string): CpuIdentity {
  const blocks = text.split(/\n\s*\n/).map(parseBlock).filter((b) => b.size > 0);
  let common: Set<string> | undefined;
  for (const block of blocks) {
    const line = block.get('flags') ?? block.get('features');
    if (line === undefined) continue;
    const own = new Set(line.split(/\s+/).filter(Boolean));
    common = common === undefined ? own : new Set([...common].filter((f) => own.has(f)));
  }
  const first = blocks[0] ?? new Map<string, string>();
  const part = [first.get('cpu implementer'), first.get('cpu part')].filter(Boolean);
  const model = first.get('model name') ?? (part.length > 0 ? `implementer ${part.join(' part ')}` : '');
  return { arch, model, flags: [...(common ?? [])].sort() };
}

let own: CpuIdentity | undefined;

/** This machine's identity, from /proc/cpuinfo (empty flags where it cannot be read); read once per process. */
export function readCpuIdentity(): CpuIdentity {
  if (own) return own;
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux: the arch alone identifies the CPU, and the portable flavour uses no flags.
  }
  own = parseCpuInfo(text, machine());
  return own;
}

export function isX86(arch: string): boolean {
  return /^(x86_64|amd64|i[3-6]86)$/i.test(arch);
}

/** `key : value` lines of one processor block, keys lower-cased. */
function parseBlock(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.split('\n')) {
    const m = /^([^:]+?)\s*:\s*(.*)$/.exec(line);
    if (m) out.set(m[1].trim().toLowerCase(), m[2].trim());
  }
  return out;
}
