import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestSchema } from '../../src/config/jobs.js';
import { parseAlertmanagerConfig } from '../../src/alerts/notify/config.js';
import { createNotifier } from '../../src/alerts/notify/index.js';
import { collectDigest, digestJob } from '../../src/jobs/digest.js';
import { pruneDirectory, pruneIndices } from '../../src/jobs/retention.js';
import { JobScheduler } from '../../src/jobs/scheduler.js';
import { silentLogger } from '../../src/logger.js';
import { createEngine } from '../../src/promql/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { startSlackStandIn, type SlackStandIn } from '../helpers/slack.js';
import { startSmtpStandIn, type SmtpStandIn } from '../helpers/smtp.js';

const HOUR = 3600_000;

/** 24h of history: two HighErrorRate episodes (one resolved), one still-firing alert, redis down for 3h. */
function seed(now: number): MemoryStorage {
  const s = new MemoryStorage();
  const start = Math.floor(now / 60_000) * 60_000 - 24 * HOUR;
  const err = { __name__: 'ALERTS', alertname: 'HighErrorRate', alertstate: 'firing', severity: 'critical', instance: 'api-1:8080', job: 'sical-backend' };
  const mem = { __name__: 'ALERTS', alertname: 'HighMemoryUsage', alertstate: 'firing', severity: 'warning', instance: 'api-2:8080', job: 'sical-backend' };
  for (let t = start; t <= start + 24 * HOUR; t += 60_000) {
    const h = (t - start) / HOUR;
    if ((h >= 2 && h < 2.5) || (h >= 10 && h < 11)) s.add(err, t, 1);
    // The rule manager ends a resolved alert's ALERTS series with a staleness marker.
    if (h === 2.5 || h === 11) s.add(err, t, NaN, true);
    if (h >= 20) s.add(mem, t, 1);
    s.add({ __name__: 'up', job: 'redis', instance: 'redis:6379' }, t, h >= 5 && h < 8 ? 0 : 1);
    s.add({ __name__: 'up', job: 'postgres', instance: 'db:5432' }, t, 1);
    // What the rules generated from slos/planning-api.yml record.
    const slo = (name: string) => ({ sloth_id: `sical-backend-${name}`, sloth_service: 'sical-backend', sloth_slo: name });
    s.add({ __name__: 'slo:objective:ratio', ...slo('availability') }, t, 0.999);
    s.add({ __name__: 'slo:period_error_budget_remaining:ratio', ...slo('availability') }, t, 0.625);
    s.add({ __name__: 'slo:objective:ratio', ...slo('latency') }, t, 0.99);
    s.add({ __name__: 'slo:period_error_budget_remaining:ratio', ...slo('latency') }, t, -0.25);
  }
  return s;
}

describe('daily digest', () => {
  let smtp: SmtpStandIn;
  let slack: SlackStandIn;
  beforeAll(async () => {
    smtp = await startSmtpStandIn();
    slack = await startSlackStandIn();
  });
  afterAll(async () => {
    await smtp?.close();
    await slack?.close();
  });

  it('summarises alerts, noisy rules and down targets from storage', async () => {
    const now = Date.now();
    const d = await collectDigest(createEngine(seed(now)), 24 * HOUR, [{ job: 'backup', lastSuccess: '2026-11-23T02:00:04Z' }], now);
    const names = d.episodes.map((e) => `${e.alertname}:${e.endedAt ? 'resolved' : 'firing'}`);
    expect(names).toEqual(['HighErrorRate:resolved', 'HighErrorRate:resolved', 'HighMemoryUsage:firing']);
    expect(d.episodes[0].durationMs).toBe(30 * 60_000);
    expect(d.noisiest[0]).toMatchObject({ alertname: 'HighErrorRate', count: 2 });
    expect(d.downTargets).toHaveLength(1);
    expect(d.downTargets[0]).toMatchObject({ job: 'redis', instance: 'redis:6379' });
    expect(d.downTargets[0].availability).toBeCloseTo(21 / 24, 1);
    // Least budget first: the SLO in trouble leads the section.
    expect(d.slos).toEqual([
      { service: 'sical-backend', slo: 'latency', objective: 0.99, remaining: -0.25 },
      { service: 'sical-backend', slo: 'availability', objective: 0.999, remaining: 0.625 },
    ]);
  });

  it('sends the digest through a notification receiver: its Slack and email integrations, with retries', async () => {
    const cfg = digestSchema.parse({ type: 'digest', schedule: '0 9 * * *', receiver: 'team' });
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-digest-'));
    const notifier = createNotifier({
      config: parseAlertmanagerConfig(
        `global: {smtp_smarthost: '${smtp.smarthost}', smtp_from: vigil@company.com, smtp_require_tls: false, slack_api_url: '${slack.url}'}
route: {receiver: team}
receivers:
  - name: team
    slack_configs: [{channel: '#monitoring'}]
    email_configs: [{to: oncall@company.com}]
`,
        'am.yml',
      ),
      dataDir,
      registry: new Registry(),
      logger: silentLogger(),
      externalUrl: 'http://vigil.test',
    });
    await notifier.start();
    // The first Slack attempt fails: the receiver's retry delivers it.
    slack.failNext({ kind: 'status', status: 503 });
    const engine = createEngine(seed(Date.now()));
    const scheduler = new JobScheduler({
      jobs: [digestJob('digest', cfg, { engine, backups: () => [{ job: 'backup', lastSuccess: '2026-11-23T02:00:04Z' }], notice: (r, n) => notifier.notice(r, n) })],
      dataDir,
      registry: new Registry(),
      logger: silentLogger(),
    });
    await scheduler.start();
    const r = await scheduler.runNow('digest');
    await scheduler.stop();
    await notifier.stop();
    expect(r.status, r.message).toBe('success');
    expect(r.message).toBe('digest sent to team (email, slack)');

    expect(slack.received).toHaveLength(1);
    expect(slack.attempts.map((a) => a.answered)).toEqual([503, 200]);
    const body = JSON.stringify(slack.received[0]);
    expect(slack.received[0].channel).toBe('#monitoring');
    expect(body).toMatch(/HighErrorRate: 2 time\(s\)/);
    expect(body).toMatch(/redis redis:6379: up 87\.\d% of the time/);

    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0];
    expect(mail.envelope.to).toEqual(['oncall@company.com']);
    expect(mail.parsed.subject).toBe('Vigil digest: 3 alert(s), 1 target(s) down');
    expect(mail.parsed.text).toMatch(/HighMemoryUsage \(warning\) .* still firing/);
    expect(mail.parsed.text).toMatch(/backup: last success 2026-11-23T02:00:04Z/);
    expect(mail.parsed.text).toContain(
      'Error budget remaining (30d):\n- sical-backend latency (objective 99%): exhausted (-25.0%)\n- sical-backend availability (objective 99.9%): 62.5% left',
    );
    expect(body).toContain('sical-backend availability (objective 99.9%): 62.5% left');
    expect(mail.parsed.html).toContain('<pre');
  });

  it('fails clearly without a notification config or with an unknown receiver', async () => {
    const cfg = digestSchema.parse({ type: 'digest', schedule: '0 9 * * *', receiver: 'team' });
    const job = digestJob('digest', cfg, { engine: createEngine(seed(Date.now())), backups: () => [] });
    await expect(job.run({ record: () => undefined } as never)).rejects.toThrow(/no notification config is loaded/);
    expect(() => digestSchema.parse({ type: 'digest', schedule: '0 9 * * *', slack: { webhook_url: 'http://x' } })).toThrow();
  });
});

describe('retention job', () => {
  it('deletes old files matching the pattern, keeping the newest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-prune-'));
    const now = Date.now();
    const ages = { 'a.ndjson': 40, 'b.ndjson': 35, 'c.ndjson': 1, 'keep.txt': 90 };
    for (const [name, days] of Object.entries(ages)) {
      writeFileSync(join(dir, name), 'x');
      const t = (now - days * 24 * HOUR) / 1000;
      utimesSync(join(dir, name), t, t);
    }
    const deleted = await pruneDirectory(dir, '*.ndjson', 30 * 24 * HOUR, now);
    expect(deleted.map((p) => p.slice(dir.length + 1)).sort()).toEqual(['a.ndjson', 'b.ndjson']);
    expect(readdirSync(dir).sort()).toEqual(['c.ndjson', 'keep.txt']);
    // Only old files: the newest stays.
    const dir2 = mkdtempSync(join(tmpdir(), 'vigil-prune-'));
    for (const n of ['x.log', 'y.log']) {
      writeFileSync(join(dir2, n), 'x');
      const t = (now - 100 * 24 * HOUR) / 1000 + (n === 'y.log' ? 60 : 0);
      utimesSync(join(dir2, n), t, t);
    }
    expect((await pruneDirectory(dir2, '*.log', 30 * 24 * HOUR, now)).map((p) => p.slice(dir2.length + 1))).toEqual(['x.log']);
  });

  it('deletes old plain indices but never data stream backing indices', async () => {
    const { createServer } = await import('node:http');
    const now = Date.now();
    const deleted: string[] = [];
    const server = createServer((req, res) => {
      res.setHeader('x-elastic-product', 'Elasticsearch');
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url?.startsWith('/_cat/indices/')) {
        res.end(JSON.stringify([
          { index: 'sical-logs-2026.09.01', 'creation.date': String(now - 80 * 24 * HOUR) },
          { index: 'sical-logs-2026.11.20', 'creation.date': String(now - 3 * 24 * HOUR) },
          { index: '.ds-sical-logs-2026.09.01-000001', 'creation.date': String(now - 80 * 24 * HOUR) },
        ]));
      } else if (req.method === 'DELETE') {
        deleted.push(decodeURIComponent(req.url!.slice(1)));
        res.end('{"acknowledged":true}');
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new Client({ node: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
    try {
      expect(await pruneIndices(client, 'sical-logs-*', 30 * 24 * HOUR, now)).toEqual(['sical-logs-2026.09.01']);
      expect(deleted).toEqual(['sical-logs-2026.09.01']);
    } finally {
      await client.close();
      server.close();
    }
  });
});
