/**
 * Lines to a file descriptor in batches: a request appends its line to an
 * array, and one asynchronous write every few milliseconds (or as soon as
 * 64 KiB wait) sends them all. Under load that is hundreds of lines per write
 * instead of a write per request, and the request path never waits for the
 * disk or the pipe. What is pending when
 * the process exits is written synchronously; when the descriptor cannot keep
 * up, lines beyond the bound are dropped and counted, never held without limit.
 */
import { write, writeSync } from 'node:fs';

export interface LineSink {
  write(line: string): unknown;
}

const writers = new Set<BatchedLineWriter>();

/** How long a line may wait for company before it is written. */
const FLUSH_DELAY_MS = 10;
/** Written at once past this many waiting characters. */
const FLUSH_CHARS = 64 * 1024;
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const w of writers) w.flushSync();
  });
}

export class BatchedLineWriter implements LineSink {
  private parts: string[] = [];
  private pendingChars = 0;
  private writing = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  /** Lines dropped because the descriptor fell more than `maxPendingChars` behind. */
  dropped = 0;
  private reportedDropped = 0;

  constructor(
    private readonly fd: number,
    private readonly maxPendingChars = 16 * 1024 * 1024,
  ) {
    writers.add(this);
    hookExit();
  }

  write(line: string): void {
    if (this.pendingChars > this.maxPendingChars) {
      this.dropped++;
      return;
    }
    this.parts.push(line);
    this.pendingChars += line.length;
    if (this.writing) return;
    if (this.pendingChars >= FLUSH_CHARS) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    } else if (!this.timer && !this.scheduled) {
      this.timer = setTimeout(this.flush, FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  private take(): Buffer | undefined {
    if (this.dropped > this.reportedDropped) {
      const n = this.dropped - this.reportedDropped;
      this.reportedDropped = this.dropped;
      this.parts.push(`{"level":"warn","timestamp":"${new Date().toISOString()}","logger":"http","message":"request log lines dropped: output too slow","dropped":${n}}\n`);
    }
    if (this.parts.length === 0) return undefined;
    const data = Buffer.from(this.parts.join(''));
    this.parts = [];
    this.pendingChars = 0;
    return data;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing) return;
    const data = this.take();
    if (data) this.send(data, 0);
  };

  private send(data: Buffer, offset: number): void {
    this.writing = true;
    write(this.fd, data, offset, data.length - offset, null, (err, n) => {
      if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') {
        // A non-blocking pipe is full: try again shortly, keeping the order of lines.
        setTimeout(() => this.send(data, offset), 10).unref();
        return;
      }
      if (!err && offset + n < data.length) return this.send(data, offset + n);
      // A closed or failing descriptor loses these lines; the request path must not notice.
      this.writing = false;
      if (this.parts.length) this.flush();
    });
  }

  /** Writes what is pending now, blocking: for process exit. */
  flushSync(): void {
    const data = this.take();
    if (!data) return;
    try {
      writeSync(this.fd, data);
    } catch {
      // Nothing to report to at exit.
    }
  }

  close(): void {
    this.flushSync();
    writers.delete(this);
  }
}
