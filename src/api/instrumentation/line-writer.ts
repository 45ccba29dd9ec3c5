/**
 * Lines to a file descriptor in batches: a request encodes its line straight
 * into a pending Buffer, and one asynchronous write every few tens of
 * milliseconds (or as soon as 256 KiB wait) sends them all. Under load that is
 * a thousand lines per write instead of a write per request, and the request
 * path never waits
 * for the disk or the pipe. Encoding each line at once lets its string die
 * young; accumulating strings (an array to join, or one growing concatenation)
 * keeps hundreds of them alive across collections and costs a copy of the
 * batch besides. A write that completes does not start the next one at once:
 * on a fast descriptor that would be a write per request or two again. What is
 * pending when the process exits is written synchronously; when the descriptor
 * cannot keep up, lines beyond the bound are dropped and counted, never held
 * without limit.
 */
import { write, writeSync } from 'node:fs';

export interface LineSink {
  write(line: string): unknown;
}

const writers = new Set<BatchedLineWriter>();

/**
 * How long a line may wait for company before it is written. A write costs a
 * timer and a thread-pool round trip (about 30 µs of CPU on a loaded 2-core
 * machine, whatever its size): at 20k requests/s, 10 ms and 64 KiB batches
 * meant some 80 writes a second, 50 ms and 256 KiB about 20.
 */
const FLUSH_DELAY_MS = 50;
/** Written at once past this many waiting bytes; also the size of a batch buffer. */
const FLUSH_BYTES = 256 * 1024;
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const w of writers) w.flushSync();
  });
}

export class BatchedLineWriter implements LineSink {
  /** Filled batches waiting behind a write in progress, oldest first. */
  private full: Buffer[] = [];
  private fullBytes = 0;
  private buf: Buffer = Buffer.allocUnsafeSlow(FLUSH_BYTES);
  private off = 0;
  /** A batch buffer back from a finished write, reused for the next batch. */
  private spare: Buffer | undefined;
  private writing = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  /** Lines dropped because the descriptor fell more than `maxPendingBytes` behind. */
  dropped = 0;
  private reportedDropped = 0;

  constructor(
    private readonly fd: number,
    private readonly maxPendingBytes = 16 * 1024 * 1024,
  ) {
    writers.add(this);
    hookExit();
  }

  write(line: string): void {
    this.add(line, false);
  }

  /** A line the caller knows to be ASCII (one byte per character). */
  writeAscii(line: string): void {
    this.add(line, true);
  }

  /**
   * Room for a line of at most `most` bytes, for a caller that encodes the line
   * itself: it writes into `batch` from `end`, then calls `commit` with the
   * offset past its last byte (or never, to abandon the line). False when the
   * line is dropped (and counted) because the descriptor is too far behind.
   */
  reserve(most: number): boolean {
    if (this.fullBytes + this.off > this.maxPendingBytes) {
      this.dropped++;
      return false;
    }
    if (this.off + most > this.buf.length) this.startBatch(most);
    return true;
  }

  /** The batch buffer a reserved line is encoded into. */
  get batch(): Buffer {
    return this.buf;
  }

  /** Where in `batch` a reserved line starts. */
  get end(): number {
    return this.off;
  }

  /** Ends a reserved line at `end`. */
  commit(end: number): void {
    this.off = end;
    this.schedule();
  }

  private add(line: string, ascii: boolean): void {
    if (this.fullBytes + this.off > this.maxPendingBytes) {
      this.dropped++;
      return;
    }
    this.append(line, ascii);
    this.schedule();
  }

  private schedule(): void {
    if (this.writing) return;
    if (this.fullBytes + this.off >= FLUSH_BYTES) {
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

  private append(line: string, ascii = false): void {
    // Up to 3 bytes per UTF-16 unit (one if ASCII); a line that may not fit starts a new batch.
    const most = ascii ? line.length : line.length * 3;
    if (this.off + most > this.buf.length) this.startBatch(most);
    // ASCII's Latin-1 bytes are its UTF-8 bytes, and the Latin-1 encoder reads
    // a concatenated string in place where the UTF-8 one first copies it flat.
    this.off += ascii ? this.buf.write(line, this.off, 'latin1') : this.buf.write(line, this.off);
  }

  /** Queues the current batch behind the write in progress and starts one with room for `most` bytes. */
  private startBatch(most: number): void {
    if (this.off > 0) {
      this.full.push(this.buf.subarray(0, this.off));
      this.fullBytes += this.off;
    }
    this.buf = Buffer.allocUnsafeSlow(Math.max(FLUSH_BYTES, most));
    this.off = 0;
  }

  private take(): Buffer | undefined {
    if (this.dropped > this.reportedDropped) {
      const n = this.dropped - this.reportedDropped;
      this.reportedDropped = this.dropped;
      this.append(`{"level":"warn","timestamp":"${new Date().toISOString()}","logger":"http","message":"request log lines dropped: output too slow","dropped":${n}}\n`);
    }
    if (this.off === 0 && this.full.length === 0) return undefined;
    let data: Buffer;
    if (this.full.length === 0) {
      data = this.buf.subarray(0, this.off);
      this.buf = this.spare ?? Buffer.allocUnsafeSlow(FLUSH_BYTES);
      this.spare = undefined;
    } else {
      if (this.off > 0) this.full.push(this.buf.subarray(0, this.off));
      data = Buffer.concat(this.full);
      this.full = [];
      this.fullBytes = 0;
    }
    this.off = 0;
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
      if (data.buffer.byteLength === FLUSH_BYTES && data.byteOffset === 0) this.spare = Buffer.from(data.buffer, 0, FLUSH_BYTES);
      if (this.off > 0 || this.full.length) {
        if (this.fullBytes + this.off >= FLUSH_BYTES) this.flush();
        else if (!this.timer) {
          this.timer = setTimeout(this.flush, FLUSH_DELAY_MS);
          this.timer.unref();
        }
      }
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
