import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil } from '../../src/main.js';
import { waitFor } from '../helpers/net.js';
import { Receiver } from './receiver.js';

const EXPOSITION = `# HELP app_requests Requests served.
# TYPE app_requests counter
app_requests_total{code="200"} 7
# HELP app_temperature_celsius Room temperature.
# TYPE app_temperature_celsius gauge
# UNIT app_temperature_celsius celsius
app_temperature_celsius 21.5
# EOF
`;

describe('remote write metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-rw-md-'));
  const rx = new Receiver();
  let target: Server;
  let port = 0;

  beforeAll(async () => {
    await rx.start();
    target = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(EXPOSITION));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    port = (target.address() as { port: number }).port;
  });
  afterAll(async () => {
    await rx.stop();
    target.closeAllConnections();
    await new Promise((r) => target.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the scraped targets\u2019 TYPE/HELP/UNIT as MetricMetadata every send_interval, apart from the samples', async () => {
    const config = parseConfig(
      `global: {scrape_interval: 1s, scrape_timeout: 1s}
storage: {path: data, mode: agent}
logs: {self: false}
scrape_configs:
  - job_name: app
    static_configs: [{targets: ['127.0.0.1:${port}']}]
remote_write:
  - url: ${rx.url}
    queue_config: {batch_send_deadline: 100ms}
    metadata_config: {send_interval: 300ms}
`,
    );
    const vigil = await startVigil({ config, file: join(dir, 'vigil.yml'), baseDir: dir }, { listen: '127.0.0.1:0', logger: silentLogger() });
    try {
      const md = await waitFor(() => {
        const all = rx.requests.flatMap((r) => r.metadata ?? []);
        return all.some((m) => m.metric_family_name === 'app_temperature_celsius') ? all : undefined;
      }, 20_000);
      const byName = new Map(md.map((m) => [m.metric_family_name, m]));
      expect(byName.get('app_requests')).toEqual({ type: 1, metric_family_name: 'app_requests', help: 'Requests served.', unit: '' });
      expect(byName.get('app_temperature_celsius')).toEqual({ type: 2, metric_family_name: 'app_temperature_celsius', help: 'Room temperature.', unit: 'celsius' });
      // Metadata requests carry no samples; samples go on their own.
      for (const r of rx.requests) if (r.metadata?.length) expect(r.timeseries).toEqual([]);
      await waitFor(() => rx.samples.get('__name__=app_requests_total,code=200,instance=127.0.0.1:' + port + ',job=app'), 20_000);
      const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
      expect(metrics).toMatch(/prometheus_remote_storage_metadata_total\{[^}]*\} [1-9]/);
    } finally {
      await vigil.stop();
    }
  }, 60_000);
});
