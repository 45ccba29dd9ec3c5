/**
 * GET /api/v1/rules and /api/v1/alerts with Prometheus's JSON shapes, backed
 * by the rule manager.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AlertView, RuleManager } from '../alerts/rules/index.js';
import { formatFloat } from '../model/strconv.js';

export interface RulesApiOptions {
  manager: Pick<RuleManager, 'groups' | 'alerts'>;
}

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : '0001-01-01T00:00:00Z');

function alertJson(a: AlertView) {
  return {
    labels: a.labels,
    annotations: a.annotations,
    state: a.state,
    activeAt: iso(a.activeAt),
    ...(a.keepFiringSince ? { keepFiringSince: iso(a.keepFiringSince) } : {}),
    value: formatFloat(a.value, 'e', -1),
  };
}

const one = (v: unknown): string | undefined => (Array.isArray(v) ? v[0] : typeof v === 'string' ? v : undefined);
const many = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

export function rulesApiRoutes(opts: RulesApiOptions): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/rules', async (req, reply) => {
      const q = (req.query ?? {}) as Record<string, unknown>;
      const type = one(q.type);
      if (type !== undefined && type !== 'alert' && type !== 'record') {
        return reply.code(400).send({ status: 'error', errorType: 'bad_data', error: `invalid type parameter "${String(type).slice(0, 50)}": must be "alert" or "record"` });
      }
      const ruleNames = new Set(many(q['rule_name[]']));
      const groupNames = new Set(many(q['rule_group[]']));
      const fileNames = new Set(many(q['file[]']));
      const excludeAlerts = one(q.exclude_alerts) === 'true';
      const groups = [];
      for (const g of opts.manager.groups()) {
        if (groupNames.size && !groupNames.has(g.name)) continue;
        if (fileNames.size && !fileNames.has(g.file)) continue;
        const rules = [];
        for (const r of g.rules) {
          if (ruleNames.size && !ruleNames.has(r.name)) continue;
          const common = {
            name: r.name,
            query: r.query,
            labels: r.labels,
            health: r.health,
            ...(r.lastError ? { lastError: r.lastError } : {}),
            evaluationTime: r.evaluationTimeMs / 1000,
            lastEvaluation: iso(r.lastEvaluation),
          };
          if (r.type === 'alerting') {
            if (type === 'record') continue;
            rules.push({
              state: r.state,
              ...common,
              duration: r.forMs / 1000,
              keepFiringFor: r.keepFiringForMs / 1000,
              annotations: r.annotations,
              ...(excludeAlerts ? {} : { alerts: r.alerts.map(alertJson) }),
              type: 'alerting',
            });
          } else {
            if (type === 'alert') continue;
            rules.push({ ...common, type: 'recording' });
          }
        }
        if ((type || ruleNames.size) && rules.length === 0) continue;
        groups.push({
          name: g.name,
          file: g.file,
          rules,
          interval: g.intervalMs / 1000,
          limit: g.limit,
          evaluationTime: g.evaluationTimeMs / 1000,
          lastEvaluation: iso(g.lastEvaluation),
        });
      }
      return { status: 'success', data: { groups } };
    });

    app.get('/api/v1/alerts', async () => ({ status: 'success', data: { alerts: opts.manager.alerts().map(alertJson) } }));
  };
}
