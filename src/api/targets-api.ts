import type { FastifyPluginAsync } from 'fastify';
import type { Collectors } from '../collectors/index.js';

/** GET /api/v1/targets in Prometheus's shape, so Grafana and promtool users see scrape health. */
export function targetsApiRoutes(opts: { collectors: () => Collectors | undefined }): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/targets', async () => {
      const targets = opts.collectors()?.targets() ?? [];
      return {
        status: 'success',
        data: {
          activeTargets: targets.map((t) => ({
            discoveredLabels: {},
            labels: t.labels,
            scrapePool: t.labels.job ?? '',
            scrapeUrl: t.scrapeUrl,
            globalUrl: t.scrapeUrl,
            lastError: t.lastError,
            lastScrape: t.lastScrape > 0 ? new Date(t.lastScrape).toISOString() : '0001-01-01T00:00:00Z',
            health: t.health,
            scrapeInterval: `${Math.round(t.scrapeIntervalMs / 1000)}s`,
          })),
          droppedTargets: [],
        },
      };
    });
  };
}
