/**
 * `/api/v1/targets` and `/api/v1/targets/metadata` in Prometheus 2.42's shape,
 * so Grafana, promtool and scripts written for Prometheus read Vigil's targets.
 */
import { hostname } from 'node:os';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Collectors, TargetStatus } from '../collectors/index.js';
import { formatDuration } from '../model/duration.js';
import { matchesAll } from '../model/matchers.js';
import type { Labels, Matcher } from '../tsdb/types.js';
import { ApiError, badParam, errorJson } from './prom-api/errors.js';
import { parseSeriesSelector } from './prom-api/selector.js';

/** What a target knows about its metrics' TYPE/HELP/UNIT, when the scrape side keeps it. */
export interface MetricMetadata {
  metric: string;
  type: string;
  help: string;
  unit: string;
}

export interface TargetsApiOptions {
  collectors: () => Collectors | undefined;
  /** Vigil's external URL: its host replaces localhost in `globalUrl`, as Prometheus does. */
  externalUrl?: string;
  /** The port Vigil listens on: a localhost target on it is Vigil itself. */
  listenPort?: string;
  /** Metadata of one target's metrics; absent = none kept, the answer is an empty list. */
  metadata?: (target: TargetStatus) => MetricMetadata[];
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
/** Exactly the hosts Prometheus treats as this machine (not all of 127/8). */
const LOCALHOST = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Prometheus's getGlobalURL: a target on localhost gets the external URL's host
 * (and, when it is this process's own port, its scheme and port too), so links
 * work from elsewhere. Without a configured external URL Prometheus uses the
 * machine's name, as here.
 */
export function globalUrl(scrapeUrl: string, externalUrl: string | undefined, listenPort?: string): string {
  let u: URL;
  try {
    u = new URL(scrapeUrl);
  } catch {
    return scrapeUrl;
  }
  if (!LOCALHOST.has(u.hostname)) return scrapeUrl;
  let ext: URL | undefined;
  try {
    ext = externalUrl ? new URL(externalUrl) : undefined;
  } catch {
    ext = undefined;
  }
  if (!ext || LOCALHOST.has(ext.hostname)) ext = new URL(`http://${hostname()}${listenPort ? `:${listenPort}` : ''}/`);
  if (listenPort && u.port === listenPort) {
    u.protocol = ext.protocol;
    u.host = ext.host;
  } else {
    u.hostname = ext.hostname;
  }
  return u.toString();
}

function send(reply: FastifyReply, err: ApiError): FastifyReply {
  return reply.code(err.status).type('application/json').send(errorJson(err));
}

function bySortedPool<T extends { scrapePool: string }>(items: T[]): T[] {
  return items.map((t, i) => [t, i] as const).sort((a, b) => (a[0].scrapePool < b[0].scrapePool ? -1 : a[0].scrapePool > b[0].scrapePool ? 1 : a[1] - b[1])).map(([t]) => t);
}

export function targetsApiRoutes(opts: TargetsApiOptions): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/targets', async (req, reply) => {
      const q = req.query as Record<string, string | string[] | undefined>;
      const one = (k: string) => (Array.isArray(q[k]) ? (q[k] as string[])[0] : (q[k] as string | undefined)) ?? '';
      const state = one('state').toLowerCase();
      const pool = one('scrapePool');
      const showActive = state === '' || state === 'any' || state === 'active';
      const showDropped = state === '' || state === 'any' || state === 'dropped';
      const c = opts.collectors();
      const active = showActive ? bySortedPool(c?.targets() ?? []).filter((t) => !pool || t.scrapePool === pool) : [];
      const dropped = showDropped ? bySortedPool(c?.droppedTargets() ?? []).filter((t) => !pool || t.scrapePool === pool) : [];
      return reply.send({
        status: 'success',
        data: {
          activeTargets: active.map((t) => ({
            discoveredLabels: t.discoveredLabels,
            labels: t.labels,
            scrapePool: t.scrapePool,
            scrapeUrl: t.scrapeUrl,
            globalUrl: globalUrl(t.scrapeUrl, opts.externalUrl, opts.listenPort),
            lastError: t.lastError,
            lastScrape: t.lastScrape > 0 ? new Date(t.lastScrape).toISOString() : ZERO_TIME,
            lastScrapeDuration: t.lastScrapeDurationSeconds ?? 0,
            health: t.health,
            scrapeInterval: t.discoveredLabels.__scrape_interval__ ?? formatDuration(t.scrapeIntervalMs),
            scrapeTimeout: t.discoveredLabels.__scrape_timeout__ ?? formatDuration(t.scrapeTimeoutMs),
          })),
          droppedTargets: dropped.map((d) => ({ discoveredLabels: d.discoveredLabels })),
        },
      });
    });

    app.get('/api/v1/targets/metadata', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      let limit = -1;
      if (q.limit !== undefined && q.limit !== '') {
        if (!/^-?\d+$/.test(q.limit)) return send(reply, new ApiError('bad_data', 'limit must be a number'));
        limit = Number(q.limit);
      }
      let matchers: Matcher[] = [];
      if (q.match_target) {
        try {
          matchers = parseSeriesSelector(q.match_target);
        } catch (err) {
          return send(reply, badParam('match_target', (err as Error).message));
        }
      }
      const metric = q.metric ?? '';
      const out: Array<{ target: Labels; metric?: string; type: string; help: string; unit: string }> = [];
      for (const t of opts.collectors()?.targets() ?? []) {
        if (limit >= 0 && out.length >= limit) break;
        if (matchers.length && !matchesAll(t.labels, matchers)) continue;
        for (const md of opts.metadata?.(t) ?? []) {
          if (metric && md.metric !== metric) continue;
          out.push(metric ? { target: t.labels, type: md.type, help: md.help, unit: md.unit } : { target: t.labels, ...md });
        }
      }
      return reply.send({ status: 'success', data: out });
    });
  };
}
