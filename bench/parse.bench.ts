/**
 * Exposition parse rate for a 100k-sample payload (text 0.0.4 and OpenMetrics),
 * and the scrape duration of the same target served on loopback: Prometheus's
 * own `scrape_duration_seconds` next to Vigil's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ExpositionParser } from '../src/collectors/exposition.js';
import { createCollectors } from '../src/collectors/index.js';
import { parseConfig } from '../src/config/index.js';
import { silentLogger } from '../src/logger.js';
import { MemoryStorage } from '../src/tsdb/memory.js';
import { syntheticPayload } from '../test/collectors/fixtures/seed-metrics.js';
import { findBinary, freePortless } from './parse-helpers.js';
import { timeIt, type BenchTable } from './table.js';

const N = 100_000;

async function parseRates(): Promise<BenchTable> {
  const rows: Array<Array<string | number>> = [];
  for (const om of [false, true]) {
    // Flat string, as a decoded HTTP body is.
    const text = Buffer.from(syntheticPayload(N, om)).toString('utf8');
    const warm = new ExpositionParser();
    const steady = await timeIt(() => warm.parse(text, { openMetrics: om }), 9);
    const cold = await timeIt(() => new ExpositionParser().parse(text, { openMetrics: om }), 3);
    const label = om ? 'OpenMetrics 1.0' : 'text 0.0.4';
    rows.push([`${label}, repeated scrape (series cache warm)`, N, steady, (N / steady) * 1000]);
    rows.push([`${label}, first scrape (cold)`, N, cold, (N / cold) * 1000]);
  }
  return {
    title: 'Exposition parse rate, 100k-sample payload',
    columns: ['case', 'samples', 'median ms', 'samples/s'],
    rows,
    notes: [
      'Target: at least 1.5M samples/s. A scrape loop keeps one parser per target, so the repeated-scrape row is the steady state.',
      `Payload: ${(Buffer.byteLength(syntheticPayload(N)) / 1e6).toFixed(1)} MB, 100 families x 1000 series with 4 labels.`,
      `Load average when measured: ${loadavg()[0].toFixed(1)} on ${(await import('node:os')).cpus().length} cores (figures fall when the machine is shared).`,
    ],
  };
}

async function scrapeSideBySide(): Promise<BenchTable> {
  const body = syntheticPayload(N);
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = ['Same payload, same loopback server; each figure is the median scrape_duration_seconds of the tool itself (fetch + parse + append).'];
  try {
    // Vigil: its own scrape loop into the in-memory store.
    const storage = new MemoryStorage();
    const config = parseConfig(`scrape_configs: [{job_name: bench, scrape_timeout: 10s, scrape_interval: 15s, targets: ['${address}']}]`, 'bench.yml', { env: {} });
    const collectors = createCollectors({ config, storage, registry: new Registry(), logger: silentLogger() });
    for (let i = 0; i < 6; i++) await collectors.scrapeAll();
    const d = storage.querier().select([{ type: '=', name: '__name__', value: 'scrape_duration_seconds' }], -Infinity, Infinity)[0];
    const vigilDur = median([...d.v].slice(1));
    await collectors.stop();
    rows.push(['Vigil (MemoryStorage)', vigilDur * 1000, (N / vigilDur)]);

    const prom = findBinary('prometheus');
    if (!prom) notes.push('prometheus binary not installed: no side-by-side figure (apt-get install prometheus).');
    else {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
      const port = await freePortless();
      writeFileSync(join(dir, 'p.yml'), `global: {scrape_interval: 2s, scrape_timeout: 2s}\nscrape_configs: [{job_name: bench, static_configs: [{targets: ['${address}']}]}]\n`);
      const child = spawn(prom, [`--config.file=${join(dir, 'p.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
      try {
        const values: number[] = [];
        const deadline = Date.now() + 30_000;
        while (values.length < 5 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 1000));
          try {
            const q = `scrape_duration_seconds{job="bench"}[1m]`;
            const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
            const j = (await res.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
            values.splice(0, values.length, ...(j.data.result[0]?.values ?? []).map((v) => Number(v[1])));
          } catch {
            // not up yet
          }
        }
        // The first scrape of a new target creates every series: skip it like Vigil's.
        const promDur = median(values.slice(1));
        rows.push(['Prometheus 2.42', promDur * 1000, N / promDur]);
        notes.push(`Prometheus scrapes: ${values.length} (first skipped as series creation).`);
      } finally {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    server.closeAllConnections();
    server.close();
  }
  return { title: 'Scrape duration of a 100k-sample target on loopback', columns: ['scraper', 'scrape_duration ms', 'samples/s'], rows, notes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

export default async (): Promise<BenchTable[]> => [await parseRates(), await scrapeSideBySide()];
