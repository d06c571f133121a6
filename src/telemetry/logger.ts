import { pino, type Logger } from 'pino';

/**
 * The structured logger: one JSON object per line, level from config. On stdout (the
 * default) lines are written asynchronously: lines logged while a write is in flight leave
 * together in the next one, so a busy gateway does not pay a write per request; pino
 * flushes what is left when the process exits.
 *
 * Nothing logs request headers or the config today; should a line ever carry them, the
 * credentials in them are censored (plain paths: no wildcard cost on every line).
 */
export const REDACTED_PATHS = [
  'headers.authorization', 'headers["x-api-key"]',
  'req.headers.authorization', 'req.headers["x-api-key"]',
  'server.api_keys', 'config.server.api_keys', 'api_keys',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts = { level, base: { app: 'warmgate' }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return pino(opts, destination ?? pino.destination({ dest: 1, sync: false }));
}
