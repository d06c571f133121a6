import { TSX_LOADER, WORKER_ENTRY } from '../../worker/spawn-worker.js';

/** The values a command template may use. */
export interface TemplateValues {
  PORT: number;
  MODEL: string;
  CTX: number;
  PARALLEL: number;
  GPU_LAYERS: number;
  /** True for embedding models: `${EMBEDDING}` becomes `--embedding`, or nothing. */
  EMBEDDING: boolean;
  /** `${THREADS}` becomes `--threads N`, or nothing (the server's own default) when unset. */
  THREADS?: number;
  /** False: `${MMAP}` becomes `--no-mmap`; true: nothing (both servers map by default). */
  MMAP: boolean;
}

/** The embedded worker: a llama-server-compatible process running node-llama-cpp. */
export const EMBEDDED_COMMAND =
  `"${process.execPath}" --import "${TSX_LOADER}" "${WORKER_ENTRY}" --model \${MODEL} --host 127.0.0.1 --port \${PORT} --ctx \${CTX} --parallel \${PARALLEL} --gpu-layers \${GPU_LAYERS} \${EMBEDDING} \${THREADS} \${MMAP} --exit-with-stdin`;

/** llama.cpp's llama-server, found on PATH unless the config names a binary. */
export function llamaServerCommand(binary = 'llama-server'): string {
  return `"${binary}" -m \${MODEL} --host 127.0.0.1 --port \${PORT} -c \${CTX} -np \${PARALLEL} -ngl \${GPU_LAYERS} \${EMBEDDING} \${THREADS} \${MMAP}`;
}

/**
 * Whether a process started from this command maps its weights: `${MMAP}` leaves it to the
 * gateway (`undefined`); otherwise a literal `--no-mmap` in the command or the extra
 * arguments says no, and its absence yes (both servers' default).
 */
export function fixedMmap(template: string, extraArgs: readonly string[]): boolean | undefined {
  const words = [...splitWords(template), ...extraArgs];
  if (words.includes('${MMAP}')) return undefined;
  return !words.includes('--no-mmap');
}

/**
 * Splits a command template into argv (double and single quotes group words, no shell is
 * involved) and expands the macros in each word. An unknown macro is an error, not a blank.
 */
export function expandCommand(template: string, values: TemplateValues): string[] {
  const argv: string[] = [];
  for (const word of splitWords(template)) {
    if (word === '${EMBEDDING}') {
      if (values.EMBEDDING) argv.push('--embedding');
      continue;
    }
    if (word === '${THREADS}') {
      if (values.THREADS !== undefined) argv.push('--threads', String(values.THREADS));
      continue;
    }
    if (word === '${MMAP}') {
      if (!values.MMAP) argv.push('--no-mmap');
      continue;
    }
    argv.push(word.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
      if (!['PORT', 'MODEL', 'CTX', 'PARALLEL', 'GPU_LAYERS'].includes(name)) {
        throw new Error(`unknown macro \${${name}} inside a word of the command template; allowed: \${PORT} \${MODEL} \${CTX} \${PARALLEL} \${GPU_LAYERS}, and \${EMBEDDING} \${THREADS} \${MMAP} as words of their own`);
      }
      return String(values[name as keyof TemplateValues]);
    }));
  }
  if (argv.length === 0) throw new Error('command template is empty');
  return argv;
}

function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} in command template`);
  if (inWord) words.push(cur);
  return words;
}
