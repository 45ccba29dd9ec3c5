/**
 * One remote-write destination: reads samples from the WAL from its saved
 * position, relabels them, spreads them over shards by series (so each
 * series' samples stay in order), sends batches concurrently, and saves the
 * position once a whole round is acknowledged. A crash or a receiver outage
 * therefore loses nothing the WAL still holds; at worst the last round is sent
 * twice (same timestamps and values, which receivers treat as duplicates).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricMetadata } from '../api/prom-api/index.js';
import { authHeaders } from '../collectors/http-client.js';
import { compileRelabel, relabel, type CompiledRelabel } from '../collectors/relabel.js';
import type { RemoteWriteConfig } from '../config/remote.js';
import type { Logger } from '../logger.js';
import type { FloatHistogram } from '../model/histogram.js';
import type { Labels } from '../tsdb/types.js';
import type { TlsOptions } from '../util/tls-options.js';
import type { RemoteWriteMetrics } from './metrics.js';
import { loadState, StateFile, type QueueState } from './position.js';
import { encodeBatch, ShardBuffer, type SendSeries } from './batch.js';
import { compressBody, encodeLabelSet, encodeWriteBody, METRIC_TYPES, ProtoWriter, type ProtoMetadata } from './proto.js';
import { WriteClient, type SendOutcome } from './send.js';
import { seriesLabels, WalReader, type SampleSink, type SampleView, type WalPosition, type WalSeries } from './wal-reader.js';

export interface WriteQueueOptions {
  config: RemoteWriteConfig;
  /** The store's WAL directory (`<data>/wal`). */
  walDir: string;
  /** Where the queue keeps its position file. */
  stateDir: string;
  metrics: RemoteWriteMetrics;
  logger: Logger;
  externalLabels: Labels;
  /** Metric metadata to send (`metadata_config`), by metric family; nothing is sent without it. */
  metadata?: () => Iterable<[string, MetricMetadata[]]>;
  /**
   * How often the WAL is polled for new records once caught up. Default 250 ms,
   * or 5 s with a `store`, whose writes wake the queue: each poll lists the
   * WAL directory, so polling often then only costs CPU.
   */
  pollIntervalMs?: number;
  /** The store whose WAL is read: segments the queue still needs are held from deletion, writes wake it. */
  store?: WalStore;
  /** TLS options for an https URL, read from the entry's tls_config (see createRemoteWrite). */
  tls?: TlsOptions;
  now?: () => number;
}

const MAX_RETRY_AFTER_MS = 5 * 60_000;
/**
 * Batches accepted within a round are recorded at most this often (and
 * before a retry's wait, and when the queue stops), not after each one: a
 * 100k-series scrape is some fifty batches. A SIGKILL may thus forget up to
 * this much progress, and those batches are sent again (the same samples,
 * which receivers take as duplicates).
 */
const PROGRESS_SAVE_MS = 1000;
/** Bytes of WAL read per step while filling a round. */
const READ_CHUNK = 1 << 20;

/** What the queue derives from a WAL series: null when write relabeling drops it. */
type Prepared = SendSeries | null;

/** One round's samples, relabelled and spread over the shards as the WAL reader hands them over. */
class Round implements SampleSink<Prepared> {
  read = 0;
  kept = 0;
  dropped = 0;
  maxT = -Infinity;
  shards: ShardBuffer[];

  /** Samples older than this are dropped (sample_age_limit); set before each read. */
  oldest = -Infinity;
  /**
   * Every buffer made so far, the shards' first: the shard count changes from
   * round to round (doubled during a 100k-series burst, halved after it), and
   * buffers made afresh would grow from their initial size again each time.
   */
  private readonly made: ShardBuffer[] = [];

  constructor(
    shards: number,
    private readonly prepare: (s: WalSeries<Prepared>) => Prepared,
    /** send_native_histograms: without it histograms are passed over, as Prometheus does. */
    private readonly sendHistograms: boolean,
  ) {
    this.shards = this.take(shards);
  }

  /** Empties the round for the next one, of `shards` shards, keeping its buffers' room. */
  reset(shards: number): this {
    this.read = this.kept = this.dropped = 0;
    this.maxT = -Infinity;
    for (const b of this.shards) b.clear();
    if (shards !== this.shards.length) this.shards = this.take(shards);
    return this;
  }

  private take(shards: number): ShardBuffer[] {
    while (this.made.length < shards) this.made.push(new ShardBuffer());
    return this.made.slice(0, shards);
  }

  sample(s: WalSeries<Prepared>, at: SampleView): void {
    this.shardFor(s, at)?.push(s.prepared!, at);
  }

  histogram(s: WalSeries<Prepared>, t: number, h: FloatHistogram | null): void {
    if (!this.sendHistograms) return;
    this.shardFor(s, { t })?.pushHistogram(s.prepared!, t, h);
  }

  /**
   * Counts a sample read and picks its shard; undefined when it is dropped (relabelled away, or older than the age limit).
   * The time comes in an object, as from the reader (see SampleView).
   */
  private shardFor(s: WalSeries<Prepared>, at: { readonly t: number }): (typeof this.shards)[number] | undefined {
    this.read++;
    const t = at.t;
    if (t > this.maxT) this.maxT = t;
    let p = s.prepared;
    if (p === undefined) p = s.prepared = this.prepare(s);
    if (p === null || t < this.oldest) {
      this.dropped++;
      return undefined;
    }
    this.kept++;
    const n = this.shards.length;
    return this.shards[n === 1 ? 0 : p.hash % n];
  }
}

class Stopped extends Error {}

/** What the queue needs from the store (the embedded Tsdb). */
export interface WalStore {
  holdWal(consumer: string, segment: number): void;
  releaseWal(consumer: string): void;
  onWalWrite(fn: () => void): () => void;
}

export function queueName(c: RemoteWriteConfig): string {
  return c.name ?? createHash('sha256').update(c.url).digest('hex').slice(0, 6);
}

export class WriteQueue {
  readonly name: string;
  private readonly reader: WalReader<Prepared>;
  private readonly relabelSteps: CompiledRelabel[];
  /** Request bytes are built here, one request at a time. */
  private readonly writer = new ProtoWriter(1 << 20);
  private readonly labels: { remote_name: string; url: string };
  private readonly stateFile: StateFile;
  /** A round interrupted by a restart, to finish first. */
  private resumeRound?: QueueState['round'];
  private readonly client: WriteClient;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  /** Position up to which everything was sent (or deliberately dropped). */
  private acked: WalPosition = { segment: 0, offset: 0 };
  private shardCount: number;
  private loop?: Promise<void>;
  private metaLoop?: Promise<void>;
  private stopped = false;
  private wake?: () => void;
  /** A write woke no one (the loop was reading or sending): the next sleep returns at once. */
  private woken = false;
  private lastRetryLog = 0;
  /** Saves the progress of the round being sent, when some is not saved yet (before a retry's wait). */
  private saveProgress?: () => Promise<void>;
  private unsubscribe?: () => void;

  constructor(private readonly o: WriteQueueOptions) {
    const c = o.config;
    this.name = queueName(c);
    this.reader = new WalReader(o.walDir);
    this.relabelSteps = compileRelabel(c.write_relabel_configs);
    this.labels = { remote_name: this.name, url: c.url };
    this.stateFile = new StateFile(join(o.stateDir, `${this.name}.position.json`));
    this.now = o.now ?? Date.now;
    this.client = new WriteClient({ url: c.url, headers: { ...c.headers, ...authHeaders(c) }, timeoutMs: c.remote_timeout, retryOn429: c.queue_config.retry_on_http_429, tls: o.tls, now: this.now });
    this.shardCount = c.queue_config.min_shards;
    const q = c.queue_config;
    o.metrics.shardsMin.set(this.labels, q.min_shards);
    o.metrics.shardsMax.set(this.labels, q.max_shards);
    o.metrics.shardCapacity.set(this.labels, q.capacity);
    o.metrics.maxSamplesPerSend.set(this.labels, q.max_samples_per_send);
    o.metrics.shards.set(this.labels, this.shardCount);
    o.metrics.shardsDesired.set(this.labels, this.shardCount);
    o.metrics.samplesPending.set(this.labels, 0);
    // Until the saved position is loaded, keep every segment.
    o.store?.holdWal(this.holdName(), 0);
  }

  private holdName(): string {
    return `remote-write:${this.name}`;
  }

  position(): WalPosition {
    return { ...this.acked };
  }

  async start(): Promise<void> {
    mkdirSync(this.o.stateDir, { recursive: true });
    const saved = await loadState(this.stateFile.path);
    // Without a saved position, sending starts at the WAL's current end, as a new Prometheus queue does.
    this.acked = saved ? { segment: saved.segment, offset: saved.offset } : this.reader.tail();
    this.resumeRound = saved?.round;
    if (!saved) await this.stateFile.create({ ...this.acked });
    this.o.store?.holdWal(this.holdName(), this.acked.segment);
    this.unsubscribe = this.o.store?.onWalWrite(() => this.notify());
    this.o.logger.info({ remote: this.name, url: this.o.config.url, position: this.acked, resumed: !!saved }, 'remote write: queue started');
    this.loop = this.run().catch((err: unknown) => {
      if (!(err instanceof Stopped)) this.o.logger.error({ remote: this.name, err: String(err) }, 'remote write: queue stopped by an error');
    });
    if (this.o.metadata && this.o.config.metadata_config.send) this.metaLoop = this.runMetadata();
  }

  /** Stops sending; the position of the last acknowledged round is kept. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.loop;
    await this.metaLoop;
    // The hold stays: the store is closing too, and the position is saved.
    this.unsubscribe?.();
    this.client.close();
  }

  /** Reads the WAL now instead of at the next poll (after a commit). */
  notify(): void {
    if (this.wake) this.wake();
    else this.woken = true;
  }

  private sleep(ms: number): Promise<void> {
    const missed = this.woken;
    this.woken = false;
    return new Promise<void>((resolve) => {
      // Stopped while reading or sending: no one would wake this sleep.
      if (missed || this.stopped) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).then(() => {
      this.wake = undefined;
      if (this.stopped) throw new Stopped();
    });
  }

  private newRound(shards: number): Round {
    return new Round(shards, (s) => this.prepare(seriesLabels(s)), this.o.config.send_native_histograms);
  }

  /** Reads WAL records into `round`, dropping samples past sample_age_limit as of now. */
  private readInto(round: Round, pos: WalPosition, maxBytes: number, until?: WalPosition) {
    const ageLimit = this.o.config.queue_config.sample_age_limit;
    round.oldest = ageLimit > 0 ? this.now() - ageLimit : -Infinity;
    const r = this.reader.read(pos, round, maxBytes, until);
    this.reportSkip(r.skipped);
    this.counted(round);
    return r;
  }

  private async run(): Promise<void> {
    const q = this.o.config.queue_config;
    const poll = this.o.pollIntervalMs ?? (this.o.store ? 5000 : 250);
    if (this.resumeRound) await this.finishInterruptedRound(this.resumeRound);
    let readPos = this.acked;
    const round = this.newRound(this.shardCount);
    let firstAt = 0;
    // A read found the WAL's end since the last round went out. A round that fills up
    // after that holds one burst (a 100k-series scrape is one commit), not a backlog:
    // more shards would not send it sooner, only cut it into more requests.
    let caughtUpSinceSend = false;
    while (!this.stopped) {
      const before = round.kept;
      const r = this.readInto(round, readPos, READ_CHUNK);
      const moved = r.next.segment !== readPos.segment || r.next.offset !== readPos.offset;
      readPos = r.next;
      if (round.kept > before) {
        if (before === 0) firstAt = this.now();
        this.o.metrics.samplesPending.set(this.labels, round.kept);
      }
      const buffered = round.kept;
      const caughtUp = !moved;
      if (caughtUp) caughtUpSinceSend = true;
      const full = buffered >= q.capacity * this.shardCount;
      const due = caughtUp && buffered > 0 && (buffered >= q.max_samples_per_send * this.shardCount || this.now() - firstAt >= q.batch_send_deadline);
      if (full || due) {
        await this.sendRound(round.shards, readPos, round.shards.map(() => 0));
        this.o.metrics.samplesPending.set(this.labels, 0);
        this.adjustShards(full && !caughtUpSinceSend);
        caughtUpSinceSend = false;
        round.reset(this.shardCount);
      } else if (buffered === 0 && moved) {
        // Records without samples to send (declarations, relabel drops) still move the position.
        await this.ack(readPos);
      }
      if (caughtUp) await this.sleep(round.kept > 0 ? Math.min(poll, Math.max(1, q.batch_send_deadline - (this.now() - firstAt))) : poll);
    }
  }

  /** Counts what a read added to the round (samples in, dropped, newest time) into the metrics. */
  private counted(round: Round): void {
    const m = this.o.metrics;
    if (round.read) m.samplesIn.inc(round.read);
    if (round.dropped) m.samplesDropped.inc(this.labels, round.dropped);
    if (round.maxT > -Infinity) {
      m.highestRead.set(this.labels, round.maxT / 1000);
      m.highestTimestamp.set(round.maxT / 1000);
    }
    round.read = 0;
    round.dropped = 0;
  }

  private reportSkip(skipped: string | undefined): void {
    if (!skipped) return;
    this.o.metrics.walSkipped.inc(this.labels);
    this.o.logger.error({ remote: this.name, problem: skipped }, 'remote write: WAL data skipped');
  }

  /** Re-reads the WAL range of the round a restart interrupted and sends only the batches not yet accepted. */
  private async finishInterruptedRound(round: NonNullable<QueueState['round']>): Promise<void> {
    const buckets = this.newRound(round.shards);
    let pos = this.acked;
    const end = round.end;
    while (pos.segment < end.segment || (pos.segment === end.segment && pos.offset < end.offset)) {
      const limit = pos.segment === end.segment ? end.offset - pos.offset : READ_CHUNK;
      const r = this.readInto(buckets, pos, Math.min(READ_CHUNK, limit), end);
      if (r.next.segment === pos.segment && r.next.offset === pos.offset) break;
      pos = r.next;
    }
    this.o.logger.info({ remote: this.name, from: this.acked, to: end, batchesSent: round.sent }, 'remote write: finishing the round a restart interrupted');
    await this.sendRound(buckets.shards, end, round.sent, round.perSend);
  }

  /**
   * Sends one round (the WAL up to `end`, spread over shards); each accepted
   * batch is recorded, and the position moves to `end` once all are.
   */
  private async sendRound(buckets: ShardBuffer[], end: WalPosition, sent: number[], perSend = this.o.config.queue_config.max_samples_per_send): Promise<void> {
    const progress = [...sent];
    const round = { end: { ...end }, shards: buckets.length, perSend, sent: progress };
    let savedAt = this.now();
    let unsaved = false;
    const save = () => {
      unsaved = false;
      savedAt = this.now();
      return this.stateFile.save({ ...this.acked, round: { ...round, sent: [...progress] } }).then(
        () => undefined,
        (err: unknown) => this.o.logger.error({ remote: this.name, err: String(err) }, 'remote write: cannot save position'),
      );
    };
    this.saveProgress = () => (unsaved ? save() : Promise.resolve());
    try {
      await Promise.all(
        buckets.map(async (b, i) => {
          const total = b.total;
          for (let from = sent[i] * perSend; from < total; from += perSend) {
            await this.sendBatch(b, from, Math.min(total, from + perSend));
            progress[i]++;
            unsaved = true;
            if (this.now() - savedAt >= PROGRESS_SAVE_MS) await save();
          }
        }),
      );
    } catch (err) {
      // Stopped mid-round: what was accepted is not sent again after the restart.
      if (unsaved) await save();
      throw err;
    } finally {
      this.saveProgress = undefined;
    }
    await this.ack(end);
  }

  private async ack(p: WalPosition): Promise<void> {
    this.acked = { ...p };
    await this.stateFile.save({ ...this.acked });
    this.o.store?.holdWal(this.holdName(), p.segment);
  }

  /** Doubles the shards while the queue is behind (rounds fill up before it reaches the WAL's end), halves them back once it is not. */
  private adjustShards(behind: boolean): void {
    const q = this.o.config.queue_config;
    const next = behind ? Math.min(q.max_shards, this.shardCount * 2) : Math.max(q.min_shards, Math.floor(this.shardCount / 2));
    if (next === this.shardCount) return;
    this.shardCount = next;
    this.o.metrics.shards.set(this.labels, next);
    this.o.metrics.shardsDesired.set(this.labels, next);
  }

  /** External labels (series' own win), write relabeling, then sorted as the protocol requires. */
  private prepare(labels: Labels): Prepared {
    let l: Labels = labels;
    const ext = this.o.externalLabels;
    const extNames = Object.keys(ext);
    if (extNames.length) {
      const merged: Record<string, string> = { ...labels };
      for (const n of extNames) if (!(n in merged)) merged[n] = ext[n];
      l = merged;
    }
    const out = relabel(l, this.relabelSteps);
    if (!out) return null;
    const bytes = encodeLabelSet(out);
    if (bytes === '') return null;
    return { labels: bytes, hash: hashString(bytes), mark: 0, first: 0, last: 0, samplesLen: 0 };
  }

  private async sendBatch(b: ShardBuffer, from: number, to: number): Promise<void> {
    let maxT = -Infinity;
    const floats = Math.min(to, b.length);
    for (let i = from; i < floats; i++) if (b.ts[i] > maxT) maxT = b.ts[i];
    for (let i = Math.max(from, b.length); i < to; i++) maxT = Math.max(maxT, b.timeAt(i));
    const body = compressBody(encodeBatch(this.writer, b, from, to));
    const ok = await this.sendWithRetry(body, to - from, 'samples');
    if (ok) {
      this.o.metrics.bytesTotal.inc(this.labels, body.length);
      this.o.metrics.highestSent.set(this.labels, maxT / 1000);
    }
  }

  /** Sends until accepted or dropped; retries recoverable failures with backoff, forever (as Prometheus). */
  private async sendWithRetry(body: Uint8Array, count: number, what: 'samples' | 'metadata', maxAttempts = Infinity): Promise<boolean> {
    const m = this.o.metrics;
    const q = this.o.config.queue_config;
    let backoff = q.min_backoff;
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) throw new Stopped();
      const end = m.batchDuration.startTimer(this.labels);
      const out: SendOutcome = await this.client.post(body, this.abort.signal);
      end();
      if (out.kind === 'sent') {
        (what === 'samples' ? m.samplesTotal : m.metadataTotal).inc(this.labels, count);
        if (what === 'metadata') m.metadataBytes.inc(this.labels, body.length);
        return true;
      }
      if (this.stopped) throw new Stopped();
      if (out.kind === 'drop') {
        (what === 'samples' ? m.samplesFailed : m.metadataFailed).inc(this.labels, count);
        this.o.logger.error({ remote: this.name, url: this.o.config.url, count, err: out.reason }, `remote write: non-recoverable error, ${what} dropped`);
        return false;
      }
      (what === 'samples' ? m.samplesRetried : m.metadataRetried).inc(this.labels, count);
      if (attempt >= maxAttempts) return false;
      const wait = out.retryAfterMs !== undefined ? Math.min(MAX_RETRY_AFTER_MS, Math.max(out.retryAfterMs, q.min_backoff)) : backoff;
      if (this.now() - this.lastRetryLog > 10_000) {
        this.lastRetryLog = this.now();
        this.o.logger.warn({ remote: this.name, url: this.o.config.url, err: out.reason, retryInMs: wait }, 'remote write: send failed, retrying');
      }
      // A receiver that fails may stay down until a restart: what it accepted so far is kept.
      await this.saveProgress?.();
      await this.sleepUnlessStopped(wait);
      backoff = Math.min(q.max_backoff, backoff * 2);
    }
  }

  private sleepUnlessStopped(ms: number): Promise<void> {
    const signal = this.abort.signal;
    if (signal.aborted) return Promise.reject(new Stopped());
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(t);
        reject(new Stopped());
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async runMetadata(): Promise<void> {
    const mc = this.o.config.metadata_config;
    try {
      // As Prometheus: the first send after one interval, when scrapes have found metadata.
      while (!this.stopped) {
        await this.sleepUnlessStopped(mc.send_interval);
        await this.sendMetadata(mc.max_samples_per_send);
      }
    } catch (err) {
      if (!(err instanceof Stopped)) this.o.logger.error({ remote: this.name, err: String(err) }, 'remote write: metadata sending stopped by an error');
    }
  }

  async sendMetadata(perSend: number): Promise<void> {
    const entries: ProtoMetadata[] = [];
    for (const [name, list] of this.o.metadata?.() ?? []) {
      for (const md of list) {
        entries.push({ type: METRIC_TYPES[md.type] ?? 0, metric_family_name: name, help: md.help, unit: md.unit });
      }
    }
    for (let i = 0; i < entries.length; i += perSend) {
      const metadata = entries.slice(i, i + perSend);
      await this.sendWithRetry(encodeWriteBody({ timeseries: [], metadata }), metadata.length, 'metadata', 3);
    }
  }
}

/** FNV-1a over the encoded labels: a series always lands on the same shard within a round. */
function hashString(b: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
