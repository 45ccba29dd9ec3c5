/**
 * GET /federate: the latest sample of every series matching any `match[]`
 * selector within the lookback window, in the text exposition format, as
 * Prometheus's federation handler writes it: one `# TYPE name untyped` per
 * metric name, external labels added where the series has no such label (with
 * `instance=""` when neither has one), the sample's own timestamp, and series
 * whose latest sample is a staleness marker left out.
 */
import type { FastifyPluginAsync } from 'fastify';
import { labelsKey } from '../model/labels.js';
import { matcherPredicate } from '../model/matchers.js';
import { formatFloat as goFormatFloat } from '../model/strconv.js';
import { parseSeriesSelector } from '../api/prom-api/selector.js';
import { collectParams } from '../api/prom-api/params.js';
import type { Labels, Matcher, Storage } from '../tsdb/types.js';

export interface FederateOptions {
  /** The local store; absent in agent mode (the endpoint then answers 503). */
  storage?: Pick<Storage, 'querier'>;
  externalLabels: Labels;
  lookbackDeltaMs?: number;
  now?: () => number;
  /** Most match[] selectors in one request. */
  maxSelectors?: number;
}

const MAX_SELECTOR_LENGTH = 16 * 1024;

export function federateRoute(o: FederateOptions): FastifyPluginAsync {
  const lookback = o.lookbackDeltaMs ?? 5 * 60_000;
  const now = o.now ?? Date.now;
  const maxSelectors = o.maxSelectors ?? 256;
  return async (app) => {
    app.get('/federate', async (req, reply) => {
      const params = collectParams(undefined, req.query);
      const raw = params['match[]'] ?? [];
      if (!o.storage) return reply.code(503).type('text/plain').send('federation needs the local store; this Vigil runs in agent mode\n');
      if (raw.length > maxSelectors) return reply.code(400).type('text/plain').send(`too many match[] selectors (at most ${maxSelectors})\n`);
      const sets: Matcher[][] = [];
      for (const m of raw) {
        if (m.length > MAX_SELECTOR_LENGTH) return reply.code(400).type('text/plain').send(`match[] longer than ${MAX_SELECTOR_LENGTH} characters\n`);
        try {
          const matchers = parseSeriesSelector(m);
          // Compiling the predicates rejects bad regexes before any series is read.
          if (matchers.map(matcherPredicate).every((p) => p(''))) throw new SyntaxError('vector selector must contain at least one non-empty matcher');
          sets.push(matchers);
        } catch (err) {
          return reply.code(400).type('text/plain').send(`${(err as Error).message}\n`);
        }
      }
      const maxt = now();
      const mint = maxt - lookback;
      const q = o.storage.querier();
      const latest = new Map<string, { labels: Labels; t: number; v: number }>();
      for (const set of sets) {
        for (const s of q.select(set, mint, maxt)) {
          const n = s.t.length - 1;
          if (n < 0) continue;
          // Exposition formats cannot carry staleness markers: a series that ended is left out.
          if (s.stale?.[n] === 1) continue;
          // Nor native histograms (Prometheus sends them only in the protobuf format).
          if (s.h?.[n] !== undefined) continue;
          latest.set(labelsKey(s.labels), { labels: s.labels, t: s.t[n], v: s.v[n] });
        }
      }
      const samples = [...latest.entries()].sort((a, b) => compareByName(a[1].labels, b[1].labels) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      return reply.send(render(samples, o.externalLabels));
    });
  };
}

function compareByName(a: Labels, b: Labels): number {
  const x = a.__name__ ?? '';
  const y = b.__name__ ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function render(samples: Array<{ labels: Labels; t: number; v: number }>, externalLabels: Labels): string {
  const ext: Record<string, string> = { ...externalLabels };
  if (!('instance' in ext)) ext.instance = '';
  const extNames = Object.keys(ext).sort();
  const out: string[] = [];
  let lastName: string | undefined;
  for (const s of samples) {
    const name = s.labels.__name__;
    if (!name) continue; // nameless series are not federated
    if (name !== lastName) {
      out.push(`# TYPE ${name} untyped\n`);
      lastName = name;
    }
    const pairs: string[] = [];
    for (const n of Object.keys(s.labels).sort()) {
      const v = s.labels[n];
      if (n === '__name__' || v === '') continue;
      pairs.push(`${n}="${escapeValue(v)}"`);
    }
    for (const n of extNames) {
      if (s.labels[n] === undefined || s.labels[n] === '') pairs.push(`${n}="${escapeValue(ext[n])}"`);
    }
    out.push(`${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatSampleValue(s.v)} ${s.t}\n`);
  }
  return out.join('');
}

function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** The text format's float: Go's shortest 'g' formatting, with +Inf, -Inf and NaN. */
function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return goFormatFloat(v, 'g', -1);
}
