import type { Logger } from '../logger.js';
import { eventSize, type EventSink, type LogEvent } from './event.js';
import type { LogMetrics } from './metrics.js';
import type { Sink } from './sink.js';
import type { DiskSpool } from './spool.js';
import { untilDeadline } from '../util/deadline.js';

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
  /** Bulk requests from the memory queue in flight at once (acknowledged in order). Default 3. */
  maxInFlight?: number;
  /** Called when the memory queue has drained to half: waiting intakes may read again. */
  onRoom?: () => void;
}

const SPOOL_PENDING_MAX = 8 * 1024 * 1024;

/** One memory batch on its way to the sink. */
interface Flight {
  /** Events not yet delivered (shrinks to the per-item retries). */
  pending: LogEvent[];
  /** Every event of the batch, acknowledged together once it and all earlier flights are delivered. */
  readonly events: LogEvent[];
  delivered: boolean;
}

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
 * Up to `maxInFlight` memory batches are in flight at once, so mapping the
 * next batch overlaps the sink's work on the previous ones; per-item failures
 * are retried with backoff inside their batch, and batches are acknowledged
 * strictly in the order they were taken (a file offset is committed only once
 * every line before it is delivered). While a batch is retrying, no new one
 * starts: an outage keeps one request going, not several. The spool drains one
 * batch at a time behind its persisted cursor, after the memory flights.
 */
export class DeliveryQueue implements EventSink {
  private mem: LogEvent[] = [];
  private head = 0;
  private memBytes = 0;
  private spilling = false;
  private running = false;
  private stopping = false;
  /** Wakes the loop when events arrive or a flight lands. */
  private wake?: () => void;
  /** Cut short backoff sleeps on stop. */
  private readonly sleepers = new Set<() => void>();
  private loopDone?: Promise<void>;
  /** Memory batches taken and not yet acknowledged, oldest first. */
  private flights: Flight[] = [];
  private flightsDone: Array<Promise<void>> = [];
  private retrying = 0;
  private sinkFailing = false;
  private readonly maxInFlight: number;

  constructor(private readonly o: QueueOptions) {
    this.maxInFlight = Math.max(1, o.maxInFlight ?? 3);
  }

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

  /**
   * Takes events into memory, or to the spool when memory is full.
   * `waitable` intakes (tailed files) only push after readyForFileData(): their
   * batch is taken whole while memory is below its limits, so a read chunk may
   * overshoot max_events by one chunk instead of diverting the steady state to
   * the fsync'd spool.
   */
  push(events: LogEvent[], waitable = false): void {
    if (events.length === 0) return;
    if (this.stopping && !this.running) {
      // After stop only the spool is safe.
      void this.spill(events);
      return;
    }
    let bytes = 0;
    for (const e of events) bytes += eventSize(e);
    const fits = waitable
      ? this.memoryEvents < this.o.maxEvents && this.memBytes < this.o.maxBytes
      : this.memoryEvents + events.length <= this.o.maxEvents && this.memBytes + bytes <= this.o.maxBytes;
    if (!this.spilling && fits) {
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
      const size = eventSize(e);
      if (out.length > 0 && bytes + size > this.o.batchBytes) break;
      out.push(e);
      bytes += size;
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

  /** Backoff: waits for `ms`, or less when stopping (stop() cuts every sleep short). */
  private async sleep(ms: number): Promise<void> {
    if (this.stopping) return;
    let timer: NodeJS.Timeout | undefined;
    let wakeUp: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      wakeUp = resolve;
      this.sleepers.add(resolve);
    });
    clearTimeout(timer);
    this.sleepers.delete(wakeUp!);
  }

  /** Waits until the loop has something to do (a push, a landed flight) or `ms` passed. */
  private async idle(ms: number): Promise<void> {
    if (this.stopping) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      this.wake = resolve;
    });
    clearTimeout(timer);
    this.wake = undefined;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.memoryEvents > 0 && this.flights.length < this.maxInFlight && this.retrying === 0) {
        const batch = this.takeMem();
        const f: Flight = { pending: batch, events: batch, delivered: false };
        this.flights.push(f);
        const done = this.fly(f);
        this.flightsDone.push(done);
        void done.finally(() => {
          this.flightsDone = this.flightsDone.filter((d) => d !== done);
          this.wake?.();
        });
        continue;
      }
      if (this.flights.length > 0) {
        // All slots busy, or memory is empty: wait for a flight to land (or for more events).
        await this.idle(1000);
        continue;
      }
      const sb = this.spilling ? await this.o.spool.read(this.o.batchEvents, this.o.batchBytes) : undefined;
      if (sb) {
        if (await this.deliver(sb.events)) {
          await sb.commit();
          this.o.metrics.spoolBytes.set(this.o.spool.bytes);
        }
        continue;
      }
      if (this.spilling && this.o.spool.isEmpty() && this.memoryEvents === 0) this.spilling = false;
      await this.idle(this.spilling ? 50 : 1000);
    }
    await Promise.all(this.flightsDone);
  }

  /** Delivers one memory batch, then acknowledges every leading delivered flight in order. */
  private async fly(f: Flight): Promise<void> {
    let ok = false;
    try {
      ok = await this.deliver(f.pending, f);
    } catch (err) {
      this.o.logger.error({ err }, 'log delivery failed');
    }
    if (!ok) return; // stopping: stop() spools what is left of it
    f.delivered = true;
    while (this.flights.length > 0 && this.flights[0].delivered) {
      const done = this.flights.shift()!;
      for (const e of done.events) e.ack?.();
    }
  }

  /** Sends until every event is delivered; false if stopped first (events stay where they were). */
  private async deliver(events: LogEvent[], flight?: Flight): Promise<boolean> {
    let pending = events;
    let retrying = false;
    try {
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
        if (!retrying) {
          retrying = true;
          this.retrying++;
        }
        this.o.metrics.retried.inc(retry.length);
        pending = retry;
        if (flight) flight.pending = pending;
        if (this.stopping) return false;
        await this.sleep(backoffDelay(attempt, this.o.backoffInitialMs, this.o.backoffMaxMs));
        if (this.stopping) return false;
      }
    } finally {
      if (retrying) this.retrying--;
    }
  }

  /**
   * Stops delivery: an in-flight memory batch and the memory queue are written
   * to the front of the spool so the next start sends them first.
   */
  /** Stops shipping; by `deadline` (Unix ms) at the latest, whatever is undelivered goes to the spool. */
  async stop(deadline?: number): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.wake?.();
    for (const s of this.sleepers) s();
    // A bulk request still in flight at the deadline is spooled too; event ids make a late delivery harmless.
    await untilDeadline(this.loopDone, deadline);
    this.running = false;
    // Undelivered flights first, in order, then the memory queue. Flights that were
    // delivered but wait behind an undelivered one are acknowledged once those are on disk.
    const flights = this.flights;
    const rest: LogEvent[] = [];
    for (const f of flights) if (!f.delivered) rest.push(...f.pending);
    for (let i = this.head; i < this.mem.length; i++) rest.push(this.mem[i]);
    this.flights = [];
    this.mem = [];
    this.head = 0;
    this.memBytes = 0;
    try {
      await this.o.spool.prepend(rest);
      // Everything taken is now delivered or on disk: acknowledge what prepend did not.
      const spooled = new Set(rest);
      for (const f of flights) for (const e of f.events) if (!spooled.has(e)) e.ack?.();
    } catch (err) {
      this.o.metrics.dropped.inc({ reason: 'spool_error' }, rest.length);
      this.o.logger.error({ err }, 'could not spool the memory queue on shutdown');
    }
    this.o.metrics.queued.set(0);
  }
}
