/**
 * The demo's generated Vigil configuration: the planning API, its health
 * endpoints, PostgreSQL and Redis scraped every second, the documented
 * HighErrorRate/HighResponseTime rules with a 30s window and `for: 5s`, and
 * seed-notes §5 routing to the local Slack and SMTP stand-ins with short
 * grouping times. Nothing under rules/ or alerting/ is touched.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface DemoTargets {
  apiHostPort: string;
  databaseUrl: string;
  redisUrl: string;
  slackUrl: string;
  smtpHostPort: string;
}

export const DEMO_RULES = {
  groups: [
    {
      name: 'sical-backend-demo',
      rules: [
        {
          alert: 'HighErrorRate',
          expr: 'rate(http_requests_total{status=~"5.."}[30s]) > 0.1',
          for: '5s',
          labels: { severity: 'critical', service: 'sical-backend' },
          annotations: { summary: 'High error rate detected', description: 'Error rate is {{ $value }} errors per second' },
        },
        {
          alert: 'HighResponseTime',
          expr: 'histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[30s])) > 1',
          for: '5s',
          labels: { severity: 'warning', service: 'sical-backend' },
          annotations: { summary: 'High response time detected', description: '95th percentile response time is {{ $value }} seconds' },
        },
      ],
    },
  ],
};

function alerting(t: DemoTargets): object {
  return {
    global: { smtp_smarthost: t.smtpHostPort, smtp_from: 'alerts@company.com', smtp_require_tls: false, slack_api_url: t.slackUrl },
    route: {
      group_by: ['alertname', 'service'],
      group_wait: '1s',
      group_interval: '5s',
      repeat_interval: '1h',
      receiver: 'default',
      routes: [
        { match: { severity: 'critical' }, receiver: 'critical-alerts' },
        { match: { severity: 'warning' }, receiver: 'warning-alerts' },
      ],
    },
    inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['alertname', 'service'] }],
    receivers: [
      // The documented default is a webhook service; here it posts to the Slack stand-in too.
      { name: 'default', slack_configs: [{ channel: '#default', send_resolved: true }] },
      {
        name: 'critical-alerts',
        email_configs: [
          {
            to: 'oncall@company.com',
            send_resolved: true,
            headers: { Subject: '[CRITICAL] {{ .GroupLabels.alertname }}' },
            // The documented body, led by the group's status so the resolved mail is told apart.
            text: 'Status: {{ .Status | toUpper }}\n{{ range .Alerts }}Alert: {{ .Annotations.summary }}\nDescription: {{ .Annotations.description }}\n{{ end }}',
          },
        ],
        slack_configs: [{ channel: '#alerts', title: '[CRITICAL] Alert', send_resolved: true }],
      },
      { name: 'warning-alerts', slack_configs: [{ channel: '#monitoring', title: '[WARNING] Alert', send_resolved: true }] },
    ],
  };
}

/** Writes vigil.yml and rules/demo.yml into `dir`; returns the vigil.yml path. */
export function writeDemoConfig(dir: string, t: DemoTargets): string {
  mkdirSync(join(dir, 'rules'), { recursive: true });
  writeFileSync(join(dir, 'rules', 'demo.yml'), stringify(DEMO_RULES));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    server: { listen: '127.0.0.1:0' },
    storage: { path: 'data', retention: '1h' },
    scrape_configs: [{ job_name: 'sical-backend', static_configs: [{ targets: [t.apiHostPort] }] }],
    health_checks: [
      { job_name: 'sical-backend-health', url: `http://${t.apiHostPort}/health`, scrape_interval: '2s', scrape_timeout: '2s' },
      { job_name: 'sical-backend-ready', url: `http://${t.apiHostPort}/ready`, scrape_interval: '2s', scrape_timeout: '2s' },
    ],
    postgres: { dsn: t.databaseUrl, scrape_interval: '2s', scrape_timeout: '2s' },
    redis: { url: t.redisUrl, scrape_interval: '2s', scrape_timeout: '2s' },
    rule_files: ['rules/*.yml'],
    alerting: { config: alerting(t) },
    logs: { self: false },
  };
  const file = join(dir, 'vigil.yml');
  writeFileSync(file, stringify(config));
  return file;
}
