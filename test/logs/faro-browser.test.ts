/**
 * A real Chromium (Debian `chromium`, driven by playwright-core) loads a page
 * bundling @grafana/faro-web-sdk pointed at Vigil's receiver on another origin:
 * the thrown error arrives in the Elasticsearch stand-in as an ECS document,
 * and measurements (a pushed one, and the web vitals Chromium reports headless)
 * arrive as histogram series.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logRoutes } from '../../src/api/logs-routes.js';
import { createServer } from '../../src/api/server.js';
import { logsSchema } from '../../src/config/logs.js';
import { silentLogger } from '../../src/logger.js';
import { createLogPipeline, type LogPipeline } from '../../src/logs/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { ElasticsearchStandIn } from '../helpers/elasticsearch.js';
import { freePort, waitFor } from '../helpers/net.js';
import { requireBinary } from '../helpers/services.js';

const here = dirname(fileURLToPath(import.meta.url));
const chromiumPath = requireBinary('chromium', 'chromium');
const DS = 'logs-browser-default';
const KEY = 'browser-key';

describe.skipIf(!chromiumPath)('Faro web SDK in a real Chromium', () => {
  let es: ElasticsearchStandIn;
  let dir: string;
  let app: FastifyInstance;
  let pipe: LogPipeline;
  let storage: MemoryStorage;
  let page: Server;
  let browser: Browser;
  let pageOrigin: string;
  let vigilUrl: string;

  beforeAll(async () => {
    es = await new ElasticsearchStandIn().start();
    dir = await mkdtemp(join(tmpdir(), 'vigil-browser-'));
    const pagePort = await freePort();
    pageOrigin = `http://127.0.0.1:${pagePort}`;
    const config = logsSchema.parse({
      self: false,
      elasticsearch: { urls: [es.url], data_stream: DS, backoff_initial: '10ms' },
      faro: { enabled: true, api_key: KEY, cors_allowed_origins: [pageOrigin] },
    });
    storage = new MemoryStorage();
    pipe = createLogPipeline({ config, dataDir: dir, registry: new Registry(), logger: silentLogger(), storage });
    await pipe.start();
    app = createServer({ logger: silentLogger(), registry: new Registry(), bodyLimit: 1024 * 1024, isReady: () => true });
    await app.register(logRoutes(pipe));
    const vigilPort = await freePort();
    await app.listen({ host: '127.0.0.1', port: vigilPort });
    // "localhost" is another origin than 127.0.0.1: the browser does real CORS.
    vigilUrl = `http://localhost:${vigilPort}/collect`;

    const bundle = await build({ entryPoints: [join(here, 'fixtures', 'faro-page.ts')], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2020', logLevel: 'silent' });
    const js = bundle.outputFiles[0].text;
    const html = `<!doctype html><html><head><title>sical</title></head><body><h1>Plans</h1><p>${'content '.repeat(200)}</p>
<script>window.__VIGIL = ${JSON.stringify({ url: vigilUrl, apiKey: KEY })};</script><script src="/app.js"></script></body></html>`;
    page = createHttpServer((req, res) => {
      if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    });
    await new Promise<void>((r) => page.listen(pagePort, '127.0.0.1', r));
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => page?.close(r));
    await app?.close();
    await pipe?.stop();
    await es?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers the thrown error as an ECS document and the measurements as series', async () => {
    const ctx = await browser.newContext();
    const tab = await ctx.newPage();
    await tab.goto(`${pageOrigin}/plans`);
    await tab.click('h1'); // an interaction, for the vitals that need one
    const exception = await waitFor(() => {
      for (const d of es.docs(DS).values()) {
        const doc = JSON.parse(d.source) as Record<string, any>;
        if (doc.event?.dataset === 'faro.exception') return doc;
      }
      return undefined;
    }, 30_000);
    expect(exception.error.type).toBe('TypeError');
    expect(exception.error.message).toBe('boom from the browser');
    expect(exception.error.stack_trace).toMatch(/app\.js:\d+:\d+/);
    expect(exception.service).toMatchObject({ name: 'sical-web', version: '1.0.0', environment: 'test' });
    expect(exception.user_agent.original).toContain('Chrome');
    expect(exception.url.full).toBe(`${pageOrigin}/plans`);
    expect(exception.labels.session_id).toBeTruthy();

    // Leaving the page makes web-vitals flush what it holds back until the page is hidden (LCP, CLS, INP).
    await tab.goto('about:blank');
    await ctx.close();
    const q = () => storage.querier().series([{ type: '=', name: '__name__', value: 'vigil_faro_measurement_count' }], 0, Date.now() + 1000);
    await waitFor(() => (q().some((l) => l.name === 'plan_render_ms') ? true : undefined), 30_000);
    // The vitals may arrive in a later request than the custom measurement: wait for the three asserted.
    const webVitals = () => q().filter((l) => l.type === 'web-vitals').map((l) => l.name).sort();
    await waitFor(() => (['fcp', 'lcp', 'ttfb'].every((v) => webVitals().includes(v)) ? true : undefined), 10_000).catch(() => undefined);
    const vitals = webVitals();
    console.log(`web vitals reported by headless Chromium: ${vitals.join(', ') || 'none'}`);
    expect(vitals).toEqual(expect.arrayContaining(['fcp', 'lcp', 'ttfb']));
    const custom = storage.querier().select([{ type: '=', name: '__name__', value: 'vigil_faro_measurement_sum' }, { type: '=', name: 'name', value: 'plan_render_ms' }], 0, Date.now() + 1000);
    expect(custom[0].labels).toMatchObject({ app: 'sical-web', type: 'custom' });
    expect(custom[0].v.at(-1)).toBe(321);
  }, 90_000);
});
