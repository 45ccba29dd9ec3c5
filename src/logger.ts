import { pino, type Logger as PinoLogger, type LogFn } from 'pino';

export type Logger = PinoLogger;

export interface LogLimitOptions {
  /** Length of one counting interval (default 60 s). */
  intervalMs?: number;
  /** Lines of one kind written in full per interval before the rest are only counted (default 1). */
  burst?: number;
  /** Kinds tracked per interval; lines of further kinds are counted together (default 100). */
  maxKinds?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

export interface LoggerOptions {
  level?: string;
  /** Extra destination, e.g. the log shipper's own intake. */
  destination?: NodeJS.WritableStream;
  /** Rate limit for warn and error lines; `false` turns it off. */
  limit?: LogLimitOptions | false;
}

const WARN = 40;
const FATAL = 60;

interface Kind {
  level: number;
  msg: string;
  err: string;
  written: number;
  suppressed: number;
}

/**
 * Collapses repeated warn and error lines. The first `burst` lines of a kind
 * (same level, message and error text) in an interval are written as they
 * come; the rest are counted, and one line per kind reports the count when
 * the interval ends. A storm of identical failures (20k notification groups
 * against a dead Slack) thus costs a few lines a minute instead of feeding
 * the log pipeline without bound. Fatal lines are never held back.
 */
export class LogLimiter {
  private readonly intervalMs: number;
  private readonly burst: number;
  private readonly maxKinds: number;
  private readonly now: () => number;
  private kinds = new Map<string, Kind>();
  private overflow = 0;
  private windowStart: number;
  private target: Logger | undefined;
  private emitting = false;

  constructor(o: LogLimitOptions = {}) {
    this.intervalMs = o.intervalMs ?? 60_000;
    this.burst = o.burst ?? 1;
    this.maxKinds = o.maxKinds ?? 100;
    this.now = o.now ?? Date.now;
    this.windowStart = this.now();
  }

  /** The logger the count lines are written to (the root, so they carry no child's context). */
  attach(logger: Logger): void {
    this.target = logger;
  }

  /** Whether a line may be written now; counts it otherwise. */
  admit(level: number, args: unknown[]): boolean {
    if (this.emitting || level < WARN || level >= FATAL) return true;
    this.maybeRoll();
    const [first, second] = args;
    const msg = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
    const key = `${level}\u0000${msg}\u0000${errorText(first)}`;
    let kind = this.kinds.get(key);
    if (!kind) {
      if (this.kinds.size >= this.maxKinds) {
        this.overflow++;
        return false;
      }
      kind = { level, msg, err: errorText(first), written: 0, suppressed: 0 };
      this.kinds.set(key, kind);
    }
    if (kind.written < this.burst) {
      kind.written++;
      return true;
    }
    kind.suppressed++;
    return false;
  }

  /** Ends the interval if it is over: writes one count line per kind that had lines held back. */
  maybeRoll(): void {
    if (this.now() - this.windowStart >= this.intervalMs) this.flush();
  }

  /** Writes the counts now (interval end, shutdown) and starts a new interval. */
  flush(): void {
    const kinds = this.kinds;
    const overflow = this.overflow;
    const seconds = Math.round((this.now() - this.windowStart) / 1000);
    this.kinds = new Map();
    this.overflow = 0;
    this.windowStart = this.now();
    const out = this.target;
    if (!out) return;
    this.emitting = true;
    try {
      for (const k of kinds.values()) {
        if (k.suppressed === 0) continue;
        const line = { repeated: k.suppressed, intervalSeconds: seconds, ...(k.err ? { err: k.err } : {}) };
        const text = `${k.msg} (and ${k.suppressed} more like it in ${seconds}s)`;
        if (k.level >= 50) out.error(line, text);
        else out.warn(line, text);
      }
      if (overflow > 0) out.warn({ repeated: overflow, intervalSeconds: seconds }, `${overflow} further warning and error lines of other kinds were not written (rate limit)`);
    } finally {
      this.emitting = false;
    }
  }
}

function errorText(first: unknown): string {
  if (first instanceof Error) return first.message;
  if (typeof first !== 'object' || first === null) return '';
  const err = (first as { err?: unknown }).err;
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : '';
}

const limiters = new WeakMap<Logger, LogLimiter>();

/**
 * Vigil's own structured logger. Secrets never reach it: config values marked
 * secret are redacted before logging (see src/config/redact.ts).
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const limiter = opts.limit === false ? undefined : new LogLimiter(opts.limit);
  const options = {
    level: opts.level ?? process.env.VIGIL_LOG_LEVEL ?? 'info',
    base: { service: 'vigil' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: ['*.password', '*.token', '*.api_key', '*.webhook_url', 'headers.authorization'], censor: '<secret>' },
    hooks: {
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number) {
        if (limiter && !limiter.admit(level, args)) return;
        method.apply(this, args);
      },
    },
  };
  const logger = opts.destination ? pino(options, opts.destination) : pino(options);
  if (limiter) {
    limiter.attach(logger);
    limiters.set(logger, limiter);
    // Quiet intervals still report what the last busy one held back.
    setInterval(() => limiter.maybeRoll(), Math.min(opts.limit ? (opts.limit.intervalMs ?? 60_000) : 60_000, 60_000)).unref();
  }
  return logger;
}

/** Writes the counts of held-back lines now (shutdown), so none are lost. */
export function flushLogLimits(logger: Logger): void {
  limiters.get(logger)?.flush();
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
