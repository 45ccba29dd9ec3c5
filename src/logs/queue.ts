import type { Logger } from '../logger.js';
import type { EventSink, LogEvent } from './event.js';
import type { LogMetrics } from './metrics.js';
import type { Sink } from './sink.js';
import type { DiskSpool } from './spool.js';

export interface QueueOptions {
  sink: Sink;
  spool: DiskSpool;
  metrics: LogMetrics;
  logger: Logger;
  maxEvents: number;
  maxBytes: number;
  spoolMaxBytes: number;
  batchEvents: number;
  batchBytes: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Called when the memory queue has drained to half: waiting intakes may read again. */
  onRoom?: () => void;
}

const SPOOL_PENDING_MAX = 8 * 1024 * 1024;

/** Exponential backoff with "equal jitter": half fixed, half random. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return cap / 2 + Math.random() * (cap / 2);
}

/**
 * The delivery queue: a bounded in-memory FIFO in front of the sink that
 * spills to the disk spool when full (the sink is slow or down). Once events
 * are spooled, newer ones follow them to disk until the spool is drained, so
 * delivery order is always memory, then spool, then memory again.
 *
 * One batch is in flight at a time; per-item failures are retried with
 * backoff inside that batch, so acknowledgements happen in order per source.
 */
export class DeliveryQueue implements EventSink {
  private mem: LogEvent[] = [];
  private head = 0;
  private memBytes = 0;
  private spilling = false;
  private running = false;
  private stopping = false;
  private wake?: () => void;
  private sleepTimer?: NodeJS.Timeout;
  private loopDone?: Promise<void>;
  private inflight: LogEvent[] = [];
  private inflightFromMem = false;
  private sinkFailing = false;

  constructor(private readonly o: QueueOptions) {}

  /** False when even the spool is full: file intake waits, HTTP intake answers 503. */
  accepting(): boolean {
    // Pending spool writes are held in memory: past a few MiB, intakes wait for the disk.
    return this.o.spool.bytes < this.o.spoolMaxBytes && this.o.spool.pendingBytes < SPOOL_PENDING_MAX;
  }

  /**
   * For intakes that can wait (tailed files are their own buffer): read more
   * only while the memory queue has room, or while the sink is failing, when
   * spooling protects lines from rotation deleting them before it returns.
   */
  readyForFileData(): boolean {
    return this.accepting() && (this.sinkFailing || this.memoryEvents < this.o.maxEvents);
  }

  get memoryEvents(): number {
    return this.mem.length - this.head;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    // Leftovers from a previous run go out before anything new.
    this.spilling = !this.o.spool.isEmpty();
    this.loopDone = this.loop().catch((err: unknown) => this.o.logger.error({ err }, 'log delivery loop failed'));
  }

  push(events: LogEvent[]): void {
    if (events.length === 0) return;
    if (this.stopping && !this.running) {
      // After stop only the spool is safe.
      void this.spill(events);
      return;
    }
    let bytes = 0;
    for (const e of events) bytes += e.json.length;
    if (!this.spilling && this.memoryEvents + events.length <= this.o.maxEvents && this.memBytes + bytes <= this.o.maxBytes) {
      for (const e of events) this.mem.push(e);
      this.memBytes += bytes;
      this.o.metrics.queued.set(this.memoryEvents);
    } else {
      this.spilling = true;
      void this.spill(events);
    }
    this.wake?.();
  }

  private async spill(events: LogEvent[]): Promise<void> {
    if (this.o.spool.bytes >= this.o.spoolMaxBytes) {
      this.o.metrics.dropped.inc({ reason: 'spool_full' }, events.length);
      return;
    }
    try {
      await this.o.spool.append(events);
      this.o.metrics.spooled.inc(events.length);
      this.o.metrics.spoolBytes.set(this.o.spool.bytes);
    } catch (err) {
      this.o.metrics.dropped.inc({ reason: 'spool_error' }, events.length);
      this.o.logger.error({ err }, 'log spool write failed');
    }
    this.wake?.();
  }

  private takeMem(): LogEvent[] {
    const out: LogEvent[] = [];
    let bytes = 0;
    while (this.head < this.mem.length && out.length < this.o.batchEvents) {
      const e = this.mem[this.head];
      if (out.length > 0 && bytes + e.json.length > this.o.batchBytes) break;
      out.push(e);
      bytes += e.json.length;
      this.head++;
    }
    this.memBytes -= bytes;
    if (this.head > 4096 && this.head * 2 > this.mem.length) {
      this.mem = this.mem.slice(this.head);
      this.head = 0;
    }
    this.o.metrics.queued.set(this.memoryEvents);
    if (this.memoryEvents <= this.o.maxEvents / 2) this.o.onRoom?.();
    return out;
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopping) return;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
    clearTimeout(this.sleepTimer);
    this.wake = undefined;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.memoryEvents > 0) {
        const batch = this.takeMem();
        this.inflight = batch;
        this.inflightFromMem = true;
        if (!(await this.deliver(batch))) break; // stopping: stop() spools what is left of it
        for (const e of batch) e.ack?.();
        this.inflight = [];
        continue;
      }
      const sb = this.spilling ? await this.o.spool.read(this.o.batchEvents, this.o.batchBytes) : undefined;
      if (sb) {
        this.inflight = [];
        this.inflightFromMem = false;
        if (await this.deliver(sb.events)) {
          await sb.commit();
          this.o.metrics.spoolBytes.set(this.o.spool.bytes);
        }
        continue;
      }
      if (this.spilling && this.o.spool.isEmpty() && this.memoryEvents === 0) this.spilling = false;
      await this.sleep(this.spilling ? 50 : 1000);
    }
  }

  /** Sends until every event is delivered; false if stopped first (events stay where they were). */
  private async deliver(events: LogEvent[]): Promise<boolean> {
    let pending = events;
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      let retry: LogEvent[];
      try {
        retry = await this.o.sink.send(pending);
        this.o.metrics.bulkLatency.observe({ outcome: retry.length ? 'partial' : 'ok' }, (performance.now() - t0) / 1000);
      } catch (err) {
        this.o.metrics.bulkLatency.observe({ outcome: 'error' }, (performance.now() - t0) / 1000);
        if (attempt === 0 || attempt % 10 === 0) this.o.logger.warn({ err: (err as Error).message, events: pending.length, attempt }, 'log sink unavailable, retrying');
        retry = pending;
      }
      this.o.metrics.shipped.inc(pending.length - retry.length);
      this.sinkFailing = retry.length === pending.length && attempt > 0;
      if (retry.length === 0) return true;
      this.o.metrics.retried.inc(retry.length);
      pending = retry;
      if (this.inflightFromMem) this.inflight = pending;
      if (this.stopping) return false;
      await this.sleep(backoffDelay(attempt, this.o.backoffInitialMs, this.o.backoffMaxMs));
      if (this.stopping) return false;
    }
  }

  /**
   * Stops delivery: an in-flight memory batch and the memory queue are written
   * to the front of the spool so the next start sends them first.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.wake?.();
    await this.loopDone;
    this.running = false;
    const rest = [...(this.inflightFromMem ? this.inflight : []), ...this.mem.slice(this.head)];
    this.mem = [];
    this.head = 0;
    this.memBytes = 0;
    this.inflight = [];
    try {
      await this.o.spool.prepend(rest);
    } catch (err) {
      this.o.metrics.dropped.inc({ reason: 'spool_error' }, rest.length);
      this.o.logger.error({ err }, 'could not spool the memory queue on shutdown');
    }
    this.o.metrics.queued.set(0);
  }
}
