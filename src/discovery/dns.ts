/**
 * dns_sd_configs: A, AAAA, SRV and MX lookups every `refresh_interval`, one
 * group per name with Prometheus's `__meta_dns_*` labels. A name that does not
 * exist, or has no records, is an empty group; any other failure keeps the
 * name's last answer.
 */
import { Resolver } from 'node:dns/promises';
import type { DnsSdConfig } from '../config/discovery.js';
import type { Labels } from '../tsdb/types.js';
import { RefreshDiscoverer } from './refresh.js';
import type { DiscoveryContext, TargetGroup } from './types.js';

const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function createDnsDiscoverer(cfg: DnsSdConfig, ctx: DiscoveryContext): RefreshDiscoverer {
  const resolver = new Resolver({ timeout: 5_000, tries: 2 });
  if (cfg.nameservers?.length) resolver.setServers(cfg.nameservers);
  const last = new Map<string, TargetGroup>();

  const lookup = async (name: string): Promise<Labels[]> => {
    const target = (address: string, srv?: { name: string; port: number }, mx?: string): Labels => ({
      __address__: address,
      __meta_dns_name: name,
      // Go's resolver returns fully qualified names; Node's drop the final dot.
      __meta_dns_srv_record_target: srv ? `${srv.name}.` : '',
      __meta_dns_srv_record_port: srv ? String(srv.port) : '',
      __meta_dns_mx_record_target: mx ? `${mx}.` : '',
    });
    switch (cfg.type) {
      case 'SRV':
        return (await resolver.resolveSrv(name)).map((r) => target(joinHostPort(r.name, r.port), r));
      case 'A':
        return (await resolver.resolve4(name)).map((a) => target(joinHostPort(a, cfg.port!)));
      case 'AAAA':
        return (await resolver.resolve6(name)).map((a) => target(joinHostPort(a, cfg.port!)));
      case 'MX':
        return (await resolver.resolveMx(name)).map((r) => target(joinHostPort(r.exchange, cfg.port!), undefined, r.exchange));
    }
  };

  const load = async (): Promise<TargetGroup[]> => {
    const failures: string[] = [];
    const groups = await Promise.all(
      cfg.names.map(async (name): Promise<TargetGroup> => {
        try {
          const g = { source: name, targets: await lookup(name), labels: {} };
          last.set(name, g);
          return g;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          if (NO_RECORDS.has(code)) {
            const g = { source: name, targets: [], labels: {} };
            last.set(name, g);
            return g;
          }
          failures.push(`DNS ${cfg.type} lookup of ${name} failed: ${(err as Error).message}`);
          return last.get(name) ?? { source: name, targets: [], labels: {} };
        }
      }),
    );
    ctx.reportError(failures.length ? failures.join('; ') : undefined);
    for (const f of failures) ctx.logger.warn({ error: f }, 'dns_sd: keeping the last answer');
    return groups;
  };

  return new RefreshDiscoverer(cfg.refresh_interval, load, (e) => e && ctx.reportError(e));
}
