import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logsSchema } from '../../src/config/logs.js';
import { silentLogger } from '../../src/logger.js';
import { eventId, type LogEvent } from '../../src/logs/event.js';
import { createLogPipeline, type LogPipeline } from '../../src/logs/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { ElasticsearchStandIn } from '../helpers/elasticsearch.js';
import { waitFor } from '../helpers/net.js';

const DS = 'logs-test-default';

function events(from: number, n: number): LogEvent[] {
  const out: LogEvent[] = [];
  for (let i = from; i < from + n; i++) {
    out.push({ id: eventId('t', i), json: JSON.stringify({ '@timestamp': new Date(1_700_000_000_000 + i).toISOString(), message: `event ${i}`, seq: i }) });
  }
  return out;
}

function metric(reg: Registry, name: string): Promise<number> {
  return reg.getSingleMetric(name)!.get().then((m) => m.values.reduce((s, v) => s + v.value, 0));
}

describe('shipping to Elasticsearch (stand-in)', () => {
  let es: ElasticsearchStandIn;
  let dir: string;
  let pipe: LogPipeline | undefined;
  let reg: Registry;

  beforeEach(async () => {
    es = await new ElasticsearchStandIn().start();
    dir = await mkdtemp(join(tmpdir(), 'vigil-logs-ship-'));
    reg = new Registry();
  });
  afterEach(async () => {
    await pipe?.stop();
    pipe = undefined;
    await es.close();
    await rm(dir, { recursive: true, force: true });
  });

  function make(extra: Record<string, unknown> = {}, queue: Record<string, unknown> = {}): LogPipeline {
    const config = logsSchema.parse({
      self: false,
      queue,
      elasticsearch: { urls: [es.url], data_stream: DS, backoff_initial: '10ms', backoff_max: '200ms', bulk_max_events: 500, ...extra },
    });
    pipe = createLogPipeline({ config, dataDir: dir, registry: reg, logger: silentLogger(), storage: new MemoryStorage() });
    return pipe;
  }

  it('installs the ILM policy (30-day delete) and a data stream template on start', async () => {
    const p = make();
    await p.start();
    const policy = es.ilmPolicies.get(`vigil-${DS}`) as { policy: { phases: { delete: { min_age: string } } } };
    expect(policy.policy.phases.delete.min_age).toBe(`${30 * 24 * 3600}s`);
    const tmpl = es.templates.get(`vigil-${DS}`) as { index_patterns: string[]; data_stream: object; template: { settings: Record<string, string> } };
    expect(tmpl.index_patterns).toEqual([`${DS}*`]);
    expect(tmpl.data_stream).toEqual({});
    expect(tmpl.template.settings['index.lifecycle.name']).toBe(`vigil-${DS}`);
    p.push(events(0, 10));
    await waitFor(() => es.count(DS) === 10);
    expect(es.dataStreams.has(DS)).toBe(true);
  });

  it('warns on 403 for template/ILM setup and still ships', async () => {
    es.forbidSetup = true;
    const p = make();
    await p.start();
    p.push(events(0, 50));
    await waitFor(() => es.count(DS) === 50);
    expect(es.templates.size).toBe(0);
  });

  it('delivers every event exactly once by _id with 30% of items answered 429 and whole-request 429/503s', async () => {
    es.itemRejectRate = 0.3;
    es.failNext = 5;
    es.failStatus = 429;
    // Backoff capped low: a 30% rejection rate takes several rounds per batch, each with its sleep.
    const p = make({ backoff_max: '50ms' });
    await p.start();
    const n = 5000;
    for (let i = 0; i < n; i += 250) p.push(events(i, 250));
    await waitFor(() => es.count(DS) === n, 60_000);
    const stored = es.docs(DS);
    for (const e of events(0, n)) expect(stored.get(e.id)?.source).toBe(e.json);
    expect(es.stats.itemRejections429).toBeGreaterThan(n * 0.2);
    expect(await metric(reg, 'vigil_logs_retried_events_total')).toBeGreaterThan(0);
    // The stand-in stores the last document before the shipper has read the answer and counted it.
    await waitFor(async () => (await metric(reg, 'vigil_logs_shipped_events_total')) >= n, 10_000, 10);
    expect(await metric(reg, 'vigil_logs_shipped_events_total')).toBe(n);
  });

  it('treats 409 on create as already stored, and times out slow requests then retries idempotently', async () => {
    const p = make({ request_timeout: '300ms' });
    await p.start();
    // Pre-store half: those come back 409 and count as delivered.
    for (const e of events(0, 100)) es.docs(DS).set(e.id, { index: DS, id: e.id, source: e.json });
    es.delayMs = 1000; // responses arrive after the client gave up, but the documents were stored
    p.push(events(0, 200));
    await waitFor(() => es.count(DS) === 200, 20_000);
    es.delayMs = 0;
    await waitFor(async () => (await metric(reg, 'vigil_logs_shipped_events_total')) === 200, 20_000);
    expect(es.count(DS)).toBe(200);
    expect(es.stats.conflicts).toBeGreaterThanOrEqual(100);
  });

  it('sends mapping rejections to the dead-letter index with the reason, never drops them', async () => {
    es.rejectDoc = (src) => (src.includes('"seq":7') ? 'failed to parse field [seq] of type [long]' : undefined);
    const p = make({ dead_letter_index: 'dlq-test' });
    await p.start();
    p.push(events(0, 10));
    await waitFor(() => es.count(DS) === 9 && es.count('dlq-test') === 1);
    const bad = events(7, 1)[0];
    const dl = JSON.parse(es.docs('dlq-test').get(bad.id)!.source) as { error: { message: string; type: string }; event: { original: string } };
    expect(dl.error.message).toContain('failed to parse field [seq]');
    expect(dl.error.type).toBe('document_parsing_exception');
    expect(dl.event.original).toBe(bad.json);
    expect(await metric(reg, 'vigil_logs_dead_lettered_events_total')).toBe(1);
  });

  it('spills to the disk spool while Elasticsearch is down and drains it in order when it returns', async () => {
    es.mode = 'unavailable';
    const p = make({}, { max_events: 100 });
    await p.start();
    for (let i = 0; i < 2000; i += 100) p.push(events(i, 100));
    await waitFor(() => p.stats().spoolBytes > 0);
    expect(p.stats().memoryEvents).toBeLessThanOrEqual(100);
    es.mode = 'up';
    await waitFor(() => es.count(DS) === 2000, 30_000);
    // In order: insertion order of the stand-in's map follows arrival.
    const seqs = [...es.docs(DS).values()].map((d) => (JSON.parse(d.source) as { seq: number }).seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(await metric(reg, 'vigil_logs_spooled_events_total')).toBeGreaterThan(0);
  });

  it('keeps the memory queue across a graceful stop (spooled first, shipped first on restart)', async () => {
    es.mode = 'unavailable';
    const p = make();
    await p.start();
    p.push(events(0, 300));
    await waitFor(() => es.stats.requestRejections > 0);
    await p.stop();
    pipe = undefined;
    es.mode = 'up';
    reg = new Registry();
    const p2 = make();
    await p2.start();
    p2.push(events(300, 10));
    await waitFor(() => es.count(DS) === 310);
    const seqs = [...es.docs(DS).values()].map((d) => (JSON.parse(d.source) as { seq: number }).seq);
    expect(seqs.slice(0, 300)).toEqual([...Array(300).keys()]);
  });
});
