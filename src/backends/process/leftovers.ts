/**
 * Worker processes must not outlive the gateway. Each child is started so that it dies with
 * the gateway (see `managed-process.ts`); as a backstop, every gateway keeps a record of its
 * children in `<data_dir>/run/<gateway pid>-<n>.json` (n: several gateways may live in one
 * process, as in the tests), and a gateway starting up kills the
 * children that a dead one left behind. A process is identified by its pid AND its start
 * time (field 22 of /proc/PID/stat) AND its command line, so a pid reused by an unrelated
 * process is never touched. Records of a gateway that is still alive are left alone (tests
 * and a second gateway may share `data_dir`).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

interface ProcessId {
  pid: number;
  /** Clock ticks since boot when the process started: with the pid, unique for the boot. */
  start: string;
}

export interface Child extends ProcessId {
  argv: string[];
}

interface RunRecord {
  gateway: ProcessId;
  children: Child[];
}

/**
 * A live process's start time; undefined when there is no such process, it is a zombie (dead,
 * holding nothing, waiting for its parent to reap it), or there is no /proc.
 */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function commandLineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

let ledgers = 0;

/** This gateway's children, written on every change; no file while it has none (so a clean stop leaves nothing). */
export class ChildLedger {
  readonly #dir: string;
  readonly #file: string;
  readonly #record: RunRecord;

  constructor(dir: string) {
    this.#dir = dir;
    this.#file = join(dir, `${process.pid}-${++ledgers}.json`);
    this.#record = { gateway: { pid: process.pid, start: startTimeOf(process.pid) ?? '' }, children: [] };
  }

  add(pid: number, argv: readonly string[]): void {
    const start = startTimeOf(pid);
    if (start === undefined) return; // already gone, or no /proc: nothing a later gateway could verify
    this.#record.children.push({ pid, start, argv: [...argv] });
    this.#write();
  }

  remove(pid: number): void {
    this.#record.children = this.#record.children.filter((c) => c.pid !== pid);
    if (this.#record.children.length === 0) rmSync(this.#file, { force: true });
    else this.#write();
  }

  #write(): void {
    mkdirSync(this.#dir, { recursive: true });
    writeFileSync(`${this.#file}.partial`, JSON.stringify(this.#record));
    renameSync(`${this.#file}.partial`, this.#file);
  }
}

/** Each record file in `dir` and what it says (undefined when it cannot be read: a write cut short). */
function runRecords(dir: string): Array<{ path: string; record: RunRecord | undefined }> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^\d+-\d+\.json$/.test(f));
  } catch {
    return [];
  }
  return files.map((f) => {
    const path = join(dir, f);
    try {
      return { path, record: JSON.parse(readFileSync(path, 'utf8')) as RunRecord };
    } catch {
      return { path, record: undefined };
    }
  });
}

/** The recorded children in `dir` that still run (for tests and benches that watch a gateway's workers). */
export function liveChildren(dir: string): Child[] {
  return runRecords(dir).flatMap(({ record }) => record?.children ?? []).filter(alive);
}

/**
 * Kills (SIGKILL) the children recorded by gateways that are no longer running, if they still
 * run the same command, and removes those records. Returns the pids killed.
 */
export function reapLeftovers(dir: string, log: Logger): number[] {
  const killed: number[] = [];
  for (const { path, record } of runRecords(dir)) {
    if (record && alive(record.gateway)) continue;
    for (const child of record?.children ?? []) {
      if (!alive(child) || !sameCommand(commandLineOf(child.pid), child.argv)) continue;
      try {
        process.kill(child.pid, 'SIGKILL');
        killed.push(child.pid);
        log.warn({ pid: child.pid, command: child.argv[0], gateway: record!.gateway.pid }, 'killed a worker left by a gateway that is gone');
      } catch {
        // it exited meanwhile
      }
    }
    rmSync(path, { force: true });
  }
  return killed;
}

function alive(p: ProcessId): boolean {
  return p.start !== '' && startTimeOf(p.pid) === p.start;
}

/** The recorded argv, possibly behind the `setpriv ... --` wrapper it was started with. */
function sameCommand(actual: readonly string[], recorded: readonly string[]): boolean {
  if (actual.length < recorded.length) return false;
  const tail = actual.slice(actual.length - recorded.length);
  return tail.every((word, i) => word === recorded[i]);
}
