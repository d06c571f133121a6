import { pino, type Logger } from 'pino';

/** The structured logger: one JSON object per line on stdout (pino), level from config. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { app: 'warmgate' }, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? process.stdout);
}
