import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level?: string;
  /** Extra destination, e.g. the log shipper's own intake. */
  destination?: NodeJS.WritableStream;
}

/**
 * Vigil's own structured logger. Secrets never reach it: config values marked
 * secret are redacted before logging (see src/config/redact.ts).
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? process.env.VIGIL_LOG_LEVEL ?? 'info',
    base: { service: 'vigil' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: ['*.password', '*.token', '*.api_key', '*.webhook_url', 'headers.authorization'], censor: '<secret>' },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
