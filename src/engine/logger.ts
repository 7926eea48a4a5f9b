import { pino } from 'pino';

export type Logger = pino.Logger;

/** Logs go to stderr as JSON lines (pino), at the daemon's --log-level. */
export function createLogger(level: string): Logger {
  return pino({ level, base: null }, pino.destination(2));
}
