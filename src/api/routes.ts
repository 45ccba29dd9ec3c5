/**
 * The route registry: every HTTP route of Vigil is mounted here, from the
 * parts src/main.ts built. Features expose handlers and views; this file
 * decides where they answer, with which access and schema.
 */
import type { FastifyInstance } from 'fastify';
import type { Notifier } from '../alerts/notify/index.js';
import type { RuleManager } from '../alerts/rules/index.js';
import type { Collectors } from '../collectors/index.js';
import type { JobScheduler } from '../jobs/index.js';
import type { LogPipeline } from '../logs/index.js';
import type { QueryEngine } from '../promql/types.js';
import type { Storage } from '../tsdb/types.js';
import { alertmanagerApiRoutes } from './alertmanager-api.js';
import { sendError } from './errors.js';
import { jobsRoutes } from './jobs-routes.js';
import { logRoutes } from './logs-routes.js';
import type { MetadataStore } from './metadata-store.js';
import type { ExemplarStore } from './exemplar-store.js';
import { promApiRoutes, type BuildInfo } from './prom-api/index.js';
import { rulesApiRoutes } from './rules-api.js';
import { runbookRoutes } from './runbooks.js';
import { statusRoutes, type StatusSources } from './status.js';
import { targetsApiRoutes } from './targets-api.js';
import { uiRoutes } from './ui.js';

export interface HttpParts {
  engine: QueryEngine;
  storage: Storage;
  rules: RuleManager;
  notifier?: Notifier;
  jobs: JobScheduler;
  logs: Pick<LogPipeline, 'intake'>;
  /** Collectors start after the server listens (they scrape Vigil itself). */
  collectors: () => Collectors | undefined;
  metadata: MetadataStore;
  exemplars: ExemplarStore;
  status: StatusSources;
  /** What /api/v1/status/buildinfo reports. */
  buildInfo?: Partial<BuildInfo>;
  /** Version reported by the Alertmanager API's /api/v2/status. */
  alertmanagerVersion?: string;
  /** How /api/v1/targets builds globalUrl. */
  targets: { externalUrl?: string; listenPort: string };
  /** The current server.token, checked by sign-in; none means the UI needs no sign-in. */
  token: () => string | undefined;
  /** external_url is https: session cookies get the Secure flag. */
  secureCookie?: boolean;
  reload(): Promise<{ ok: boolean; errors: string[]; warnings?: string[] }>;
}

export async function mountRoutes(app: FastifyInstance, p: HttpParts): Promise<void> {
  await app.register(
    promApiRoutes({
      engine: p.engine,
      storage: p.storage,
      storageRetention: p.status.retention,
      buildInfo: p.buildInfo,
      flags: p.status.flags,
      metadata: p.metadata,
      exemplars: p.exemplars,
      targets: () => p.collectors()?.targets() ?? [],
    }),
  );
  await app.register(statusRoutes(p.status, p.storage));
  await app.register(rulesApiRoutes({ manager: p.rules }));
  await app.register(targetsApiRoutes({ collectors: p.collectors, ...p.targets, metadata: (t) => p.metadata.forTarget(t.labels) }));
  if (p.notifier) await app.register(alertmanagerApiRoutes({ notifier: p.notifier, version: p.alertmanagerVersion }));
  await app.register(jobsRoutes({ scheduler: p.jobs }));
  await app.register(logRoutes(p.logs));
  await app.register(runbookRoutes());
  await app.register(uiRoutes({ token: p.token, secureCookie: p.secureCookie }));
  app.post('/-/reload', { config: { access: 'write' } }, async (_req, reply) => {
    const r = await p.reload();
    // Applied, with what was left out (an invalid SLO file) named in `warnings`, as the query API words them.
    if (r.ok) return reply.send({ status: 'success', ...(r.warnings?.length ? { warnings: r.warnings } : {}) });
    return sendError(reply, 400, 'bad_data', r.errors.join('\n'));
  });
}
