/**
 * The scrape worker pool on the main thread: each HTTP target is assigned to
 * one worker (the least loaded when it first scrapes) and stays there, so the
 * worker keeps its parser and series references warm. A worker that stops
 * answering (a scrape past its timeout plus a grace period, and no heartbeat
 * from its event loop) is terminated and replaced, and one that dies (out of memory, a crash) is replaced too: the
 * scrape in flight fails, the other targets' scrapes in flight are sent once
 * more to the replacement. The main thread only posts requests and receives
 * batches, whatever a target does.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import type { Batch } from './series-mapper.js';
import type { ScrapeOutcome, TargetSpec } from './target-scrape.js';
import type { WorkerRequest } from './scrape-worker-run.js';
import { workerEntry } from './worker-entry.js';

export interface PoolOptions {
  /** Worker threads; default one per core. */
  workers?: number;
  /** Old-generation heap limit per worker, MiB: a target that exhausts it costs that worker only. */
  heapMb?: number;
  /** Scheduling priority (nice value) of the worker threads; default 10, below the main thread. */
  nice?: number;
  /** How long past a scrape's timeout a worker may stay silent before it is replaced. */
  graceMs?: number;
  logger: Logger;
  /** Worker entry module (tests wrap the real one); default scrape-worker. */
  workerUrl?: URL;
}

export const DEFAULT_WORKER_HEAP_MB = 256;
/**
 * Young generation of a worker, MiB. V8 sizes it from the old-generation
 * limit, about 6 MiB for 256: far less than one large scrape's transient
 * data (body text, parsed samples), which was then promoted and cost a full
 * mark-compact of the worker's heap every scrape (100k series: ~140 MB heap,
 * 100-200 ms of marking). At 48 MiB it dies young.
 */
export const WORKER_YOUNG_MB = 48;
export const DEFAULT_WORKER_NICE = 10;
const DEFAULT_GRACE_MS = 5000;
/** Replacements a scrape may live through when another target is to blame. */
const MAX_RESENDS = 3;

interface Pending {
  key: string;
  msg: Extract<WorkerRequest, { type: 'scrape' }>;
  resolve(o: ScrapeOutcome): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | undefined;
  /** Times sent again after its worker was replaced. */
  resends: number;
  onPart?: (b: Batch) => void;
  /** Parts were handed over: the scrape cannot be sent again (they would be appended twice). */
  partial: boolean;
}

interface Slot {
  worker: Worker;
  /**
   * Shared with the worker: [0] the id of the scrape it is busy with on its
   * thread (0 = none), [1] a heartbeat its event loop advances.
   */
  shared: Int32Array;
  /** Heartbeat seen at the last hang check. */
  beat: number;
  /** Spec object last sent per target, to send it again only when it changes. */
  configured: Map<string, TargetSpec>;
  pending: Map<number, Pending>;
  targets: Set<string>;
  restarts: number;
  /** The worker has loaded its module: scrapes' hang timers run from then on. */
  ready: boolean;
  /** The worker's thread id under /proc, when known. */
  tid?: number;
  /** Its CPU time (clock ticks) at the last hang check, and when that was (ms). */
  cpu: number;
  cpuAt: number;
  /** Hang checks in a row that found the thread starved of CPU rather than stuck. */
  starved: number;
  /** When the last hang check judged the worker (performance.now(), monotonic). */
  checkedAt: number;
}

/** Hang checks a thread that gets no CPU (a saturated machine, low priority) is given before it counts as stuck. */
const MAX_STARVED_CHECKS = 6;

/** CPU time (user + system, clock ticks) of thread `tid` of this process; undefined when unreadable. */
function threadCpu(tid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

type WorkerReply = { type: 'ready'; tid?: number } | { type: 'part'; id: number; part: Batch } | { type: 'result'; id: number; out: ScrapeOutcome } | { type: 'failed'; id: number; error: string };

/** The worker module next to this one: .ts when running from source (tests, benchmarks), .js when built. */
function defaultWorkerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./scrape-worker.${ext}`, import.meta.url);
}

export class ScrapePool {
  private readonly slots: Slot[];
  private readonly assigned = new Map<string, Slot>();
  private nextId = 1;
  private closed = false;
  private readonly url: URL;
  readonly size: number;

  constructor(private readonly opts: PoolOptions) {
    this.size = Math.max(1, opts.workers ?? cpus().length);
    this.url = opts.workerUrl ?? defaultWorkerUrl();
    // Workers start with the first targets that need them: none for a configuration without HTTP targets.
    this.slots = [];
  }

  /**
   * Scrapes `key` (configured by `spec`) on its worker; `onPart` receives parts
   * of the batch while the body is still parsed. Rejects only when the worker
   * died or hung.
   */
  scrape(key: string, spec: TargetSpec, timeoutMs: number, onPart?: (b: Batch) => void): Promise<ScrapeOutcome> {
    if (this.closed) return Promise.reject(new Error('scrape pool closed'));
    const slot = this.slotFor(key);
    const id = this.nextId++;
    return new Promise<ScrapeOutcome>((resolve, reject) => {
      const p: Pending = { key, msg: { type: 'scrape', id, key, timeoutMs }, resolve, reject, timer: undefined, resends: 0, onPart, partial: false };
      this.send(slot, p, spec);
    });
  }

  /** The target is gone: its worker forgets it. */
  release(key: string): void {
    const slot = this.assigned.get(key);
    if (!slot) return;
    this.assigned.delete(key);
    slot.targets.delete(key);
    slot.configured.delete(key);
    slot.worker.postMessage({ type: 'drop', key } satisfies WorkerRequest);
  }

  /** Thread ids of the workers (tests: which worker serves a target). */
  workerOf(key: string): number | undefined {
    return this.assigned.get(key)?.worker.threadId;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots) {
      for (const p of slot.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error('scrape pool closed'));
      }
      slot.pending.clear();
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private slotFor(key: string): Slot {
    let slot = this.assigned.get(key);
    if (slot === undefined) {
      if (this.slots.length < this.size) this.slots.push(this.spawn({ restarts: 0 }));
      slot = this.slots.reduce((a, b) => (b.targets.size < a.targets.size ? b : a));
      slot.targets.add(key);
      this.assigned.set(key, slot);
    }
    return slot;
  }

  private send(slot: Slot, p: Pending, spec: TargetSpec): void {
    const msg = { ...p.msg, spec: slot.configured.get(p.key) === spec ? undefined : spec };
    slot.configured.set(p.key, spec);
    p.msg = { ...p.msg, spec };
    slot.pending.set(p.msg.id, p);
    if (slot.ready) this.watch(slot, p);
    slot.worker.postMessage(msg);
  }

  /** The worker enforces the timeout itself; this only catches a worker that cannot (stuck in a loop). */
  private watch(slot: Slot, p: Pending): void {
    p.timer = setTimeout(() => this.hung(slot, p), p.msg.timeoutMs + (this.opts.graceMs ?? DEFAULT_GRACE_MS));
    p.timer.unref?.();
  }

  private spawn(base: { restarts: number; targets?: Set<string> }): Slot {
    const [entry, extra] = workerEntry(this.url);
    const shared = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(entry, {
      ...extra,
      workerData: { shared: shared.buffer, nice: this.opts.nice ?? DEFAULT_WORKER_NICE },
      resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb ?? DEFAULT_WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
      name: 'vigil-scrape',
    });
    worker.unref();
    const slot: Slot = { worker, shared, beat: -1, configured: new Map(), pending: new Map(), targets: base.targets ?? new Set(), restarts: base.restarts, ready: false, cpu: -1, cpuAt: 0, starved: 0, checkedAt: -Infinity };
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') {
        // Starting a worker takes a while on a busy machine: not the targets' fault.
        slot.ready = true;
        slot.tid = m.tid;
        for (const p of slot.pending.values()) this.watch(slot, p);
        return;
      }
      const p = slot.pending.get(m.id);
      if (!p) return;
      if (m.type === 'part') {
        p.partial = true;
        p.onPart?.(m.part);
        return;
      }
      slot.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.type === 'result') p.resolve(m.out);
      else {
        // The worker's state for the target may be ahead of what the loop received: start it over.
        slot.configured.delete(p.key);
        worker.postMessage({ type: 'drop', key: p.key } satisfies WorkerRequest);
        p.reject(new Error(`scrape worker failed: ${m.error}`));
      }
    });
    worker.on('error', (err) => this.died(slot, workerError(err, this.opts.heapMb ?? DEFAULT_WORKER_HEAP_MB)));
    worker.on('exit', (code) => this.died(slot, `scrape worker exited (code ${code})`));
    return slot;
  }

  /**
   * A scrape outlived its timeout and grace. If the worker's event loop has not
   * turned since the last check, it is stuck: the scrape it is busy with fails
   * and the worker is replaced.
   */
  private hung(slot: Slot, p: Pending): void {
    if (!slot.pending.has(p.msg.id)) return;
    const grace = this.opts.graceMs ?? DEFAULT_GRACE_MS;
    // Each scrape in flight has its own timer, but the verdict is about the worker: it is judged at most
    // once per grace period. Judged again moments after another scrape's check, it would have had no time
    // to beat (a busy worker replaced) and its starved checks would run out N times as fast with N scrapes.
    const checked = performance.now();
    const since = checked - slot.checkedAt;
    if (since < grace) {
      p.timer = setTimeout(() => this.hung(slot, p), grace - since);
      p.timer.unref?.();
      return;
    }
    slot.checkedAt = checked;
    const beat = Atomics.load(slot.shared, 1);
    const cpu = slot.tid === undefined ? undefined : threadCpu(slot.tid);
    // Without a heartbeat, a thread that also used (almost) no CPU is waiting for a core, not stuck in a loop.
    // (Clock ticks are 10 ms: under a tenth of one core since the last check is 1 tick per 100 ms.)
    const now = Date.now();
    const starved = beat === slot.beat && cpu !== undefined && slot.cpu >= 0 && cpu - slot.cpu < Math.max(1, (now - slot.cpuAt) / 100) && slot.starved < MAX_STARVED_CHECKS;
    if (cpu !== undefined) {
      slot.cpu = cpu;
      slot.cpuAt = now;
    }
    if (beat !== slot.beat || starved) {
      // Slow (a loaded machine), not stuck: its event loop still turns, so its own timeout will answer.
      slot.starved = starved ? slot.starved + 1 : 0;
      slot.beat = beat;
      p.timer = setTimeout(() => this.hung(slot, p), grace);
      p.timer.unref?.();
      return;
    }
    // The scrape the worker is stuck in, if it says; else the one that waited too long.
    const stuck = slot.pending.get(Atomics.load(slot.shared, 0)) ?? p;
    slot.pending.delete(stuck.msg.id);
    stuck.reject(new Error(`scrape worker stopped responding (scrape timeout ${stuck.msg.timeoutMs}ms exceeded); worker replaced`));
    this.replace(slot, 'a scrape worker stopped responding', stuck.key);
  }

  private died(slot: Slot, reason: string): void {
    if (this.closed || !this.slots.includes(slot)) return;
    const culprit = slot.pending.get(Atomics.load(slot.shared, 0));
    if (culprit) {
      slot.pending.delete(culprit.msg.id);
      culprit.reject(new Error(reason));
    }
    this.replace(slot, reason, culprit?.key);
  }

  /**
   * Terminates `slot`'s worker and starts another for its targets. The other
   * scrapes in flight are sent again: the worker names the scrape it is busy
   * with, and when it could not (a crash between scrapes), a target that takes
   * two workers down fails.
   */
  private replace(slot: Slot, reason: string, culprit: string | undefined): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    const next = this.spawn({ restarts: slot.restarts + 1, targets: slot.targets });
    this.slots[i] = next;
    for (const key of slot.targets) this.assigned.set(key, next);
    slot.worker.removeAllListeners('exit');
    slot.worker.removeAllListeners('error');
    slot.worker.on('error', () => {});
    void slot.worker.terminate();
    this.opts.logger.warn({ reason, restarts: next.restarts, culprit }, 'scrape worker replaced');
    for (const p of slot.pending.values()) {
      clearTimeout(p.timer);
      if (p.key === culprit || p.partial || p.resends >= (culprit === undefined ? 1 : MAX_RESENDS)) {
        p.reject(new Error(reason));
        continue;
      }
      p.resends++;
      this.send(next, p, p.msg.spec as TargetSpec);
    }
    slot.pending.clear();
  }
}

/** A dead worker's error, in an operator's words: running out of heap names the limit and the setting that raises it. */
function workerError(err: Error & { code?: string }, heapMb: number): string {
  if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return `scrape worker ran out of memory: the target's scrape reached the worker's heap limit of ${heapMb} MiB (scrape_workers.heap_limit)`;
  }
  return `scrape worker crashed: ${err.message}`;
}
