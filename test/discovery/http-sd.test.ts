import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { createHttpDiscoverer } from '../../src/discovery/http.js';
import type { TargetGroup } from '../../src/discovery/types.js';
import { silentLogger } from '../../src/logger.js';

let server: Server;
let base = '';
let answer: { status: number; type: string; body: string | Buffer } = { status: 200, type: 'application/json', body: '[]' };
const seen: Array<Record<string, string | string[] | undefined>> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(answer.status, { 'content-type': answer.type });
    res.end(answer.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function setup() {
  const cfg = parseConfig(`scrape_configs: [{job_name: h, http_sd_configs: [{url: '${base}/sd', refresh_interval: 1h, authorization: {credentials: s3cret}}]}]`).scrape_configs[0].http_sd_configs[0];
  const groups = new Map<string, TargetGroup>();
  const errors: Array<string | undefined> = [];
  const d = createHttpDiscoverer(cfg, { logger: silentLogger(), baseDir: '.', reportError: (e) => errors.push(e) });
  d.start((gs) => gs.forEach((g) => (g.targets.length ? groups.set(g.source, g) : groups.delete(g.source))));
  return { d, groups, errors, addrs: () => [...groups.values()].flatMap((g) => g.targets.map((t) => t.__address__)).sort() };
}

describe('http_sd_configs', () => {
  it('reads Prometheus HTTP SD JSON, sends auth and the refresh header, labels __meta_url', async () => {
    answer = { status: 200, type: 'application/json', body: JSON.stringify([{ targets: ['a:1', 'b:2'], labels: { env: 'prod' } }, { targets: ['c:3'] }]) };
    const { d, groups, addrs } = setup();
    try {
      await d.refresh();
      expect(addrs()).toEqual(['a:1', 'b:2', 'c:3']);
      expect(groups.get(`${base}/sd:0`)!.labels).toEqual({ env: 'prod', __meta_url: `${base}/sd` });
      expect(seen.at(-1)).toMatchObject({ authorization: 'Bearer s3cret', 'x-prometheus-refresh-interval-seconds': '3600' });

      // A group that disappears from the answer ends its targets.
      answer = { status: 200, type: 'application/json; charset=utf-8', body: JSON.stringify([{ targets: ['a:1'] }]) };
      await d.refresh();
      expect(addrs()).toEqual(['a:1']);
    } finally {
      await d.stop();
    }
  });

  it('keeps the last targets on a bad answer and names the URL: status, content type, malformed or oversized body', async () => {
    answer = { status: 200, type: 'application/json', body: JSON.stringify([{ targets: ['a:1'] }]) };
    const { d, errors, addrs } = setup();
    try {
      await d.refresh();
      const bad: Array<[typeof answer, RegExp]> = [
        [{ status: 500, type: 'application/json', body: 'oops' }, /HTTP status 500/],
        [{ status: 200, type: 'text/html', body: '<html>' }, /unsupported content type "text\/html"/],
        [{ status: 200, type: 'application/json', body: '[{"targets": ["x:1"]},\n {"targets": "y"}]' }, /line 2: \[1\]\.targets/],
        [{ status: 200, type: 'application/json', body: '[{"targets": ["x:1"], "labels": {"bad-name": "v"}}]' }, /labels/],
        [{ status: 200, type: 'application/json', body: '{not json' }, /line 1/],
        [{ status: 200, type: 'application/json', body: Buffer.alloc(17 * 1024 * 1024, 32) }, /body size limit/],
      ];
      for (const [a, re] of bad) {
        answer = a;
        await d.refresh();
        expect(addrs()).toEqual(['a:1']);
        const e = errors.at(-1) ?? '';
        expect(e).toContain(`${base}/sd`);
        expect(e).toMatch(re);
      }
      expect(JSON.stringify(errors)).not.toContain('s3cret');
    } finally {
      await d.stop();
    }
  });
});
