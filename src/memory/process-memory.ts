/**
 * A process's resident memory split the way the ledger needs it, from /proc/PID/status:
 * anonymous pages (heap, KV cache, repacked weight copies: only freed by the process) and
 * file-backed pages (the binary, libraries and mmapped weights). `RssShmem` is counted
 * with the anonymous pages: it is just as unreclaimable.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface ResidentMemory {
  /** VmRSS: everything resident. */
  rss: number;
  /** RssAnon + RssShmem. */
  anon: number;
  /** RssFile. */
  file: number;
}

/** Parses /proc/PID/status text (kB figures); zeros where a line is missing. */
export function parseProcStatus(text: string): ResidentMemory {
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  const anon = kb('RssAnon') + kb('RssShmem');
  const file = kb('RssFile');
  return { rss: kb('VmRSS') || anon + file, anon, file };
}

const NONE: ResidentMemory = { rss: 0, anon: 0, file: 0 };

/** The process's memory now; zeros when it is gone or /proc is not there. */
export async function residentMemory(pid: number | 'self'): Promise<ResidentMemory> {
  try {
    return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return NONE;
  }
}

/** This process's memory, read synchronously (falls back to Node's RSS off Linux, all counted anonymous). */
export function ownResidentMemory(): ResidentMemory {
  try {
    return parseProcStatus(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    const rss = process.memoryUsage().rss;
    return { rss, anon: rss, file: 0 };
  }
}
