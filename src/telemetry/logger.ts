import { pino, type Logger } from 'pino';

/**
 * The structured logger: one JSON object per line, level from config. On stdout (the
 * default) lines are written asynchronously: lines logged while a write is in flight leave
 * together in the next one, so a busy gateway does not pay a write per request; pino
 * flushes what is left when the process exits.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts = { level, base: { app: 'warmgate' }, timestamp: pino.stdTimeFunctions.isoTime };
  return pino(opts, destination ?? pino.destination({ dest: 1, sync: false }));
}
