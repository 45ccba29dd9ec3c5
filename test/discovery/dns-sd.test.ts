/**
 * dns_sd_configs against a real DNS server: dnsmasq on a free loopback port,
 * A records from a hosts file (re-read on SIGHUP) and SRV records from its
 * config (re-read on restart).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { createDnsDiscoverer } from '../../src/discovery/dns.js';
import type { TargetGroup } from '../../src/discovery/types.js';
import { silentLogger } from '../../src/logger.js';
import { freePort, waitFor } from '../helpers/net.js';
import { requireBinary } from '../helpers/services.js';

const dnsmasq = requireBinary('dnsmasq');
let dir: string;
let port = 0;
let proc: ChildProcess | undefined;

async function startDnsmasq(srv: string[]): Promise<void> {
  writeFileSync(join(dir, 'dnsmasq.conf'), srv.map((s) => `srv-host=${s}`).join('\n') + '\n');
  proc = spawn(
    dnsmasq!,
    [
      '--keep-in-foreground',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--no-daemon',
      '--log-facility=-',
      `--user=${userInfo().username}`,
      `--pid-file=${join(dir, 'pid')}`,
      `--addn-hosts=${join(dir, 'hosts')}`,
      `--conf-file=${join(dir, 'dnsmasq.conf')}`,
      '--local=/vigil.test/',
    ],
    { stdio: 'ignore' },
  );
  const r = new Resolver();
  r.setServers([`127.0.0.1:${port}`]);
  await waitFor(async () => (await r.resolve4('ready.vigil.test').catch(() => [])).length > 0, 10_000);
}

async function stopDnsmasq(): Promise<void> {
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc!.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  if (!dnsmasq) return;
  dir = mkdtempSync(join(tmpdir(), 'vigil-dns-'));
  port = await freePort();
  writeFileSync(join(dir, 'hosts'), '127.0.0.1 ready.vigil.test\n10.0.0.1 api.vigil.test\n10.0.0.2 api.vigil.test\n');
  await startDnsmasq(['_metrics._tcp.vigil.test,api-1.vigil.test,9100', '_metrics._tcp.vigil.test,api-2.vigil.test,9101']);
});
afterAll(async () => {
  await stopDnsmasq();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function discoverer(yaml: string) {
  const cfg = parseConfig(`scrape_configs: [{job_name: d, dns_sd_configs: [${yaml}]}]`).scrape_configs[0].dns_sd_configs[0];
  const groups = new Map<string, TargetGroup>();
  const errors: Array<string | undefined> = [];
  const d = createDnsDiscoverer(cfg, { logger: silentLogger(), baseDir: dir, reportError: (e) => errors.push(e) });
  d.start((gs) => gs.forEach((g) => groups.set(g.source, g)));
  return { d, groups, errors, addresses: (name: string) => (groups.get(name)?.targets ?? []).map((t) => t.__address__).sort() };
}

describe.skipIf(!dnsmasq)('dns_sd_configs with dnsmasq', () => {
  it('A records: adding and removing a record changes the targets (hosts file, SIGHUP)', async () => {
    const { d, addresses, groups } = discoverer(`{names: [api.vigil.test], type: A, port: 9100, refresh_interval: 1h, nameservers: ['127.0.0.1:${port}']}`);
    try {
      await d.refresh();
      expect(addresses('api.vigil.test')).toEqual(['10.0.0.1:9100', '10.0.0.2:9100']);
      expect(groups.get('api.vigil.test')!.targets[0]).toEqual({
        __address__: expect.stringMatching(/^10\.0\.0\.[12]:9100$/),
        __meta_dns_name: 'api.vigil.test',
        __meta_dns_srv_record_target: '',
        __meta_dns_srv_record_port: '',
        __meta_dns_mx_record_target: '',
      });

      writeFileSync(join(dir, 'hosts'), '127.0.0.1 ready.vigil.test\n10.0.0.2 api.vigil.test\n10.0.0.3 api.vigil.test\n');
      proc!.kill('SIGHUP');
      await waitFor(async () => {
        await d.refresh();
        return addresses('api.vigil.test').join() === '10.0.0.2:9100,10.0.0.3:9100';
      });
    } finally {
      await d.stop();
    }
  });

  it('SRV records: targets and __meta_dns_srv_* labels follow the records (restart)', async () => {
    const { d, addresses, groups } = discoverer(`{names: [_metrics._tcp.vigil.test], refresh_interval: 1h, nameservers: ['127.0.0.1:${port}']}`);
    try {
      await d.refresh();
      expect(addresses('_metrics._tcp.vigil.test')).toEqual(['api-1.vigil.test:9100', 'api-2.vigil.test:9101']);
      expect(groups.get('_metrics._tcp.vigil.test')!.targets.find((t) => t.__address__ === 'api-2.vigil.test:9101')).toEqual({
        __address__: 'api-2.vigil.test:9101',
        __meta_dns_name: '_metrics._tcp.vigil.test',
        __meta_dns_srv_record_target: 'api-2.vigil.test.',
        __meta_dns_srv_record_port: '9101',
        __meta_dns_mx_record_target: '',
      });

      await stopDnsmasq();
      await startDnsmasq(['_metrics._tcp.vigil.test,api-2.vigil.test,9101', '_metrics._tcp.vigil.test,api-3.vigil.test,9102']);
      await d.refresh();
      expect(addresses('_metrics._tcp.vigil.test')).toEqual(['api-2.vigil.test:9101', 'api-3.vigil.test:9102']);

      // Every record removed: the name answers with no records, an empty group (targets end).
      await stopDnsmasq();
      await startDnsmasq([]);
      await d.refresh();
      expect(addresses('_metrics._tcp.vigil.test')).toEqual([]);
    } finally {
      await d.stop();
    }
  });

  it('keeps the last answer while the server is unreachable, and reports it', async () => {
    const { d, addresses, errors } = discoverer(`{names: [api.vigil.test], type: A, port: 80, refresh_interval: 1h, nameservers: ['127.0.0.1:${port}']}`);
    try {
      await d.refresh();
      const before = addresses('api.vigil.test');
      expect(before.length).toBeGreaterThan(0);
      await stopDnsmasq();
      await d.refresh();
      expect(addresses('api.vigil.test')).toEqual(before);
      expect(errors.filter(Boolean).at(-1)).toMatch(/DNS A lookup of api\.vigil\.test failed/);
    } finally {
      await d.stop();
      await startDnsmasq([]);
    }
  }, 30_000);
});
