/**
 * Exposition parse rate for a 100k-sample payload (text 0.0.4 and OpenMetrics),
 * and the scrape duration of the same target served on loopback: Prometheus's
 * own `scrape_duration_seconds` next to Vigil's, both storing into their real
 * on-disk stores.
 *
 * The machine is shared: cases are interleaved round by round (so load swings
 * hit every case alike) and medians are reported, with the process CPU time
 * next to wall time (CPU time does not count time spent waiting for a core).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ExpositionParser, parseExposition } from '../src/collectors/exposition.js';
import { createCollectors } from '../src/collectors/index.js';
import { parseConfig } from '../src/config/index.js';
import { silentLogger } from '../src/logger.js';
import { openTsdb } from '../src/tsdb/index.js';
import { syntheticPayload } from '../test/collectors/fixtures/seed-metrics.js';
import { findBinary, freePort, median, measure, promQuery, sleep } from './parse-helpers.js';
import type { BenchTable } from './table.js';

const N = 100_000;
const ROUNDS = 7;

async function parseRates(): Promise<BenchTable> {
  const rows: Array<Array<string | number>> = [];
  for (const om of [false, true]) {
    // Flat string, as a decoded HTTP body is.
    const text = Buffer.from(syntheticPayload(N, om)).toString('utf8');
    const opts = { openMetrics: om };
    const kept = new ExpositionParser();
    const cases: Array<[string, () => unknown]> = [
      ['one-off parseExposition()', () => parseExposition(text, opts)],
      ['first scrape of a target (new ExpositionParser)', () => new ExpositionParser().parse(text, opts)],
      ['repeated scrape (kept parser, series known)', () => kept.parse(text, opts)],
    ];
    for (const [, fn] of cases) fn(); // warm-up: compile the hot paths
    const wall = cases.map(() => [] as number[]);
    const cpu = cases.map(() => [] as number[]);
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order: a case pays for garbage the one before it left.
      for (let j = 0; j < cases.length; j++) {
        const i = (j + r) % cases.length;
        const m = measure(cases[i][1]);
        wall[i].push(m.wallMs);
        cpu[i].push(m.cpuMs);
      }
    }
    const label = om ? 'OpenMetrics 1.0' : 'text 0.0.4';
    cases.forEach(([name], i) => {
      const w = median(wall[i]);
      const c = median(cpu[i]);
      rows.push([`${label}, ${name}`, w, (N / w) * 1000, c, (N / c) * 1000]);
    });
  }
  return {
    title: 'Exposition parse rate, 100k-sample payload',
    columns: ['case', 'median wall ms', 'samples/s (wall)', 'median CPU ms', 'samples/s (CPU)'],
    rows,
    notes: [
      'Target: at least 1.5M samples/s for a 100k-sample payload.',
      `Median of ${ROUNDS} rounds, cases interleaved within each round in rotating order. CPU time is the whole process (garbage collector threads included).`,
      `Payload: ${(Buffer.byteLength(syntheticPayload(N)) / 1e6).toFixed(1)} MB, 100 families x 1000 series with 4 labels, every series new to a fresh parser.`,
      'A first parse allocates every label set and sample; most of the remaining time is allocation and young-generation GC of objects that all survive.',
      `Load average when measured: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores (figures fall when the machine is shared).`,
    ],
  };
}

export async function scrapeSideBySide(): Promise<BenchTable> {
  const body = syntheticPayload(N);
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [
    'Same payload from the same loopback server; each figure is the median of the scrape_duration_seconds each tool records itself (fetch + parse + append into its on-disk store), first scrape (series creation) excluded.',
  ];
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-parse-'));
  let child: ReturnType<typeof spawn> | undefined;
  const db = await openTsdb({ dir: join(dir, 'vigil'), retentionMs: 24 * 3600_000, logger: silentLogger(), checkpointIntervalMs: 0 });
  // VIGIL_BENCH_SCRAPE_NICE: the scrape workers' nice value (default: Vigil's default).
  const nice = process.env.VIGIL_BENCH_SCRAPE_NICE;
  const config = parseConfig(
    `scrape_configs: [{job_name: bench, scrape_timeout: 10s, scrape_interval: 15s, targets: ['${address}']}]\n${nice ? `scrape_workers: {nice: ${Number(nice)}}\n` : ''}`,
    'bench.yml',
    { env: {} },
  );
  const collectors = createCollectors({ config, storage: db, registry: new Registry(), logger: silentLogger() });
  try {
    // Prometheus scrapes every 3s in the background while Vigil scrapes in the
    // same window, so both see the same machine load.
    const prom = findBinary('prometheus');
    let port = 0;
    if (!prom) notes.push('prometheus binary not installed: no side-by-side figure (apt-get install prometheus).');
    else {
      port = await freePort();
      writeFileSync(join(dir, 'p.yml'), `global: {scrape_interval: 3s, scrape_timeout: 3s}\nscrape_configs: [{job_name: bench, static_configs: [{targets: ['${address}']}]}]\n`);
      child = spawn(prom, [`--config.file=${join(dir, 'p.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    }
    const vigilScrapes = 8;
    const deadline = Date.now() + 45_000;
    let promValues: number[] = [];
    for (let i = 0; i < vigilScrapes || (child && promValues.length < vigilScrapes && Date.now() < deadline); i++) {
      if (i < vigilScrapes) await collectors.scrapeAll();
      await sleep(1500);
      if (child) promValues = await promQuery(port, 'scrape_duration_seconds{job="bench"}[5m]').catch(() => promValues);
    }
    const d = db.querier().select([{ type: '=', name: '__name__', value: 'scrape_duration_seconds' }], -Infinity, Infinity)[0];
    const vigil = [...d.v].slice(1);
    rows.push(['Vigil (on-disk tsdb)', median(vigil) * 1000, N / median(vigil), String(vigil.length)]);
    if (child) {
      const p = promValues.slice(1);
      rows.push(['Prometheus 2.42', median(p) * 1000, N / median(p), String(p.length)]);
    }
    notes.push(`Vigil's first scrape (all series new): ${(d.v[0] * 1000).toFixed(0)} ms.`);
    notes.push(`Vigil's scrape workers ran at nice ${config.scrape_workers.nice}.`);
    notes.push(`Load average when measured: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores; both tools scraped during the same period.`);
  } finally {
    await collectors.stop();
    await db.close();
    child?.kill('SIGKILL');
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { title: 'Scrape duration of a 100k-sample target on loopback', columns: ['scraper', 'median scrape_duration ms', 'samples/s', 'scrapes'], rows, notes };
}

export default async (): Promise<BenchTable[]> => [await parseRates(), await scrapeSideBySide()];
