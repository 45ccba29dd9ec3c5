import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { lineId, sourceKey, type LogEvent } from '../../src/logs/event.js';
import { createLogMetrics } from '../../src/logs/metrics.js';
import { DeliveryQueue } from '../../src/logs/queue.js';
import type { Sink } from '../../src/logs/sink.js';
import { DiskSpool } from '../../src/logs/spool.js';
import { waitFor } from '../helpers/net.js';

/** A sink whose requests finish only when the test releases them, in any order. */
class GatedSink implements Sink {
  readonly name = 'gated';
  readonly calls: Array<{ events: LogEvent[]; release: (retry?: LogEvent[]) => void }> = [];
  inFlight = 0;
  maxInFlight = 0;
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  send(events: LogEvent[]): Promise<LogEvent[]> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve) =>
      this.calls.push({
        events,
        release: (retry = []) => {
          this.inFlight--;
          resolve(retry);
        },
      }),
    );
  }
}

describe('pipelined delivery', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function setup(sink: Sink) {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-pipeline-'));
    dirs.push(dir);
    const spool = new DiskSpool({ dir: join(dir, 'spool') });
    await spool.open();
    const q = new DeliveryQueue({
      sink,
      spool,
      metrics: createLogMetrics(new Registry()),
      logger: silentLogger(),
      maxEvents: 1000,
      maxBytes: 1 << 20,
      spoolMaxBytes: 1 << 30,
      batchEvents: 10,
      batchBytes: 1 << 20,
      backoffInitialMs: 5,
      backoffMaxMs: 20,
      maxInFlight: 3,
    });
    return { q, spool };
  }

  const events = (n: number, acked: number[]) =>
    Array.from({ length: n }, (_, i): LogEvent => ({ id: `e${i}`, json: `{"i":${i}}`, ack: () => acked.push(i) }));

  it('keeps three requests in flight and acknowledges batches in the order they were taken', async () => {
    const sink = new GatedSink();
    const { q, spool } = await setup(sink);
    const acked: number[] = [];
    q.start();
    q.push(events(50, acked));
    await waitFor(() => (sink.calls.length === 3 ? true : undefined));
    expect(sink.maxInFlight).toBe(3);
    // The third and second land first: nothing may be acknowledged before the first.
    sink.calls[2].release();
    sink.calls[1].release();
    await new Promise((r) => setTimeout(r, 50));
    expect(acked).toEqual([]);
    sink.calls[0].release();
    await waitFor(() => (acked.length === 30 ? true : undefined));
    expect(acked).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // The remaining batches, released as they come.
    let released = 3;
    while (acked.length < 50) {
      await waitFor(() => (sink.calls.length > released || acked.length === 50 ? true : undefined));
      for (; released < sink.calls.length; released++) sink.calls[released].release();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(acked).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(sink.maxInFlight).toBeLessThanOrEqual(3);
    await q.stop();
    await spool.close();
  });

  it('retries a batch\'s failed items while later batches wait for it, and spools undelivered flights in order on stop', async () => {
    const sink = new GatedSink();
    const { q, spool } = await setup(sink);
    const acked: number[] = [];
    q.start();
    const evs = events(30, acked);
    q.push(evs);
    await waitFor(() => (sink.calls.length === 3 ? true : undefined));
    sink.calls[1].release();
    sink.calls[2].release();
    // The first batch keeps two items failing: its retries go out alone.
    sink.calls[0].release([evs[3], evs[7]]);
    await waitFor(() => (sink.calls.length === 4 ? true : undefined));
    expect(sink.calls[3].events.map((e) => e.id)).toEqual(['e3', 'e7']);
    expect(acked).toEqual([]);
    // Stopping now: the retried items go to the spool, then every taken event is acknowledged.
    const stopped = q.stop();
    sink.calls[3].release([evs[3], evs[7]]);
    await stopped;
    expect([...acked].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const b = await spool.read(100, 1 << 20);
    expect(b?.events.map((e) => e.id)).toEqual(['e3', 'e7']);
    await spool.close();
  });
});

describe('file line ids', () => {
  const key = sourceKey('/var/log/app.log', 1234);
  const line = Buffer.from('xx{"message":"hello"}yy');

  it('are stable for the same file, inode, offset and bytes', () => {
    expect(lineId(key, 100, line, 2, 21)).toBe(lineId(sourceKey('/var/log/app.log', 1234), 100, Buffer.from(line), 2, 21));
    expect(lineId(key, 100, line, 2, 21)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('differ by offset (also past 4 GiB), inode, path and content', () => {
    const ids = new Set([
      lineId(key, 100, line, 2, 21),
      lineId(key, 101, line, 2, 21),
      lineId(key, 100 + 2 ** 32, line, 2, 21),
      lineId(sourceKey('/var/log/app.log', 1235), 100, line, 2, 21),
      lineId(sourceKey('/var/log/other.log', 1234), 100, line, 2, 21),
      lineId(key, 100, Buffer.from('xx{"message":"hellO"}yy'), 2, 21),
      lineId(key, 100, line, 2, 20),
    ]);
    expect(ids.size).toBe(7);
  });

  it('do not collide over a million lines of one file', () => {
    const seen = new Set<string>();
    const buf = Buffer.from('{"timestamp":"2026-03-01T10:00:00.000Z","message":"evt-0000000"}');
    for (let i = 0; i < 1_000_000; i++) {
      buf.write(String(i).padStart(7, '0'), 51, 'latin1');
      seen.add(lineId(key, i * buf.length, buf, 0, buf.length));
    }
    expect(seen.size).toBe(1_000_000);
  });
});
