/**
 * Prometheus's template functions and alert template data (template/template.go
 * and rules/alerting.go), on top of the Go text/template engine.
 */
import { parseDuration } from '../../model/duration.js';
import type { Labels } from '../../tsdb/types.js';
import { queryEscape } from './builtins.js';
import type { FuncMap } from './exec.js';
import { sprintf } from './fmt.js';
import { formatFloat, parseGoFloat } from '../../model/strconv.js';
import { compileUnanchoredRegex, replaceAll } from '../../model/regex.js';
import { compileTemplate, TemplateError, type CompiledTemplate } from './index.js';
import { GoDuration, GoTime, goTypeName } from './values.js';

/** Element of a `query` result, a Go struct { Labels map[string]string; Value float64 }. */
export interface TemplateSample {
  readonly __goType: '*template.sample';
  readonly Labels: Record<string, string>;
  readonly Value: number;
}

/** Runs an instant query at the template's evaluation time; returns a vector (a scalar as one sample). */
export type TemplateQueryFn = (query: string) => Promise<Array<{ labels: Labels; value: number }>>;

export interface PrometheusFuncsOptions {
  query?: TemplateQueryFn;
  externalUrl?: string;
}

function toFloat(i: unknown): number {
  if (typeof i === 'number') return i;
  if (typeof i === 'string') return parseGoFloat(i);
  if (typeof i === 'bigint') return Number(i);
  if (i instanceof GoDuration) return Number(i.ns) / 1e9;
  throw new Error(`can't convert ${goTypeName(i)} to float`);
}

const g4 = (v: number) => sprintf('%.4g', [v]);

export function humanize(i: unknown): string {
  let v = toFloat(i);
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

export function humanize1024(i: unknown): string {
  let v = toFloat(i);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

export function humanizeDuration(i: unknown): string {
  let v = toFloat(i);
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return g4(v) + 's';
  if (Math.abs(v) >= 1) {
    let sign = '';
    if (v < 0) {
      sign = '-';
      v = -v;
    }
    const duration = Math.trunc(v);
    const seconds = duration % 60;
    const minutes = Math.trunc(duration / 60) % 60;
    const hours = Math.trunc(duration / 3600) % 24;
    const days = Math.trunc(duration / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${g4(v)}${prefix}s`;
}

function floatToTime(v: number): GoTime {
  const ns = v * 1e9;
  if (ns > 2 ** 63 || ns < -(2 ** 63))
    throw new Error(`${formatFloat(v, 'g', -1)} cannot be represented as a nanoseconds timestamp since it overflows int64`);
  // model.TimeFromUnixNano keeps millisecond precision.
  return GoTime.fromMs(Math.trunc(ns / 1e6));
}

export function humanizeTimestamp(i: unknown): string {
  const v = toFloat(i);
  if (!Number.isFinite(v)) return g4(v);
  return floatToTime(v).toString();
}

function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, ch: string) => pre + ch.toUpperCase());
}

function splitHostPort(hp: string): [string, string] | undefined {
  const m = /^\[([^\]]*)\]:(\d*)$/.exec(hp) ?? /^([^:]*):(\d*)$/.exec(hp);
  return m ? [m[1], m[2]] : undefined;
}

function stripPort(hp: string): string {
  const r = splitHostPort(hp);
  return r ? r[0] : hp;
}

function stripDomain(hp: string): string {
  const r = splitHostPort(hp);
  let host = r ? r[0] : hp;
  const port = r ? r[1] : '';
  if (/^[\d.]+$/.test(host) && host.split('.').length === 4) return hp;
  if (host.includes(':')) return hp;
  host = host.split('.')[0];
  return port ? `${host}:${port}` : host;
}

function asSample(v: unknown, fn: string): TemplateSample {
  if (typeof v === 'object' && v !== null && (v as TemplateSample).__goType === '*template.sample') return v as TemplateSample;
  throw new Error(`wrong type for value; expected *template.sample; got ${goTypeName(v)} (in ${fn})`);
}

function asString(v: unknown): string {
  if (typeof v !== 'string') throw new Error(`wrong type for value; expected string; got ${goTypeName(v)}`);
  return v;
}

function asVector(v: unknown): TemplateSample[] {
  if (!Array.isArray(v)) throw new Error(`wrong type for value; expected template.queryResult; got ${goTypeName(v)}`);
  return v as TemplateSample[];
}

export function makeSample(labels: Labels, value: number): TemplateSample {
  return { __goType: '*template.sample', Labels: { ...labels }, Value: value };
}

/** The function map Prometheus registers for rule and console templates. */
export function prometheusFuncs(opts: PrometheusFuncsOptions = {}): FuncMap {
  const ext = opts.externalUrl ?? '';
  let extPath = '';
  try {
    extPath = ext ? new URL(ext).pathname.replace(/\/$/, '') : '';
  } catch {
    extPath = '';
  }
  return {
    query: async (q: unknown) => {
      if (!opts.query) throw new Error('query is not available in this context');
      const r = await opts.query(asString(q));
      return r.map((s) => makeSample(s.labels, s.value));
    },
    first: (v: unknown) => {
      const vec = asVector(v);
      if (vec.length > 0) return vec[0];
      throw new Error('first() called on vector with no elements');
    },
    label: (name: unknown, s: unknown) => asSample(s, 'label').Labels[asString(name)] ?? '',
    value: (s: unknown) => asSample(s, 'value').Value,
    strvalue: (s: unknown) => asSample(s, 'strvalue').Labels.__value__ ?? '',
    args: (...a: unknown[]) => Object.fromEntries(a.map((x, i) => [`arg${i}`, x])),
    reReplaceAll: (p: unknown, r: unknown, t: unknown) => replaceAll(compileUnanchoredRegex(asString(p)), asString(t), asString(r)),
    safeHtml: (t: unknown) => asString(t),
    match: (p: unknown, s: unknown) => compileUnanchoredRegex(asString(p)).test(asString(s)),
    title: (s: unknown) => title(asString(s)),
    toUpper: (s: unknown) => asString(s).toUpperCase(),
    toLower: (s: unknown) => asString(s).toLowerCase(),
    graphLink: (e: unknown) => `/graph?g0.expr=${queryEscape(asString(e))}&g0.tab=0`,
    tableLink: (e: unknown) => `/graph?g0.expr=${queryEscape(asString(e))}&g0.tab=1`,
    sortByLabel: (name: unknown, v: unknown) => {
      const n = asString(name);
      return [...asVector(v)].sort((a, b) => {
        const x = a.Labels[n] ?? '';
        const y = b.Labels[n] ?? '';
        return x < y ? -1 : x > y ? 1 : 0;
      });
    },
    humanize,
    humanize1024,
    humanizeDuration,
    humanizePercentage: (i: unknown) => g4(toFloat(i) * 100) + '%',
    humanizeTimestamp,
    toTime: (i: unknown) => {
      const v = toFloat(i);
      if (!Number.isFinite(v)) throw new Error('value is NaN or Inf');
      return floatToTime(v);
    },
    toDuration: (i: unknown) => {
      const v = toFloat(i);
      if (!Number.isFinite(v)) throw new Error('value is NaN or Inf');
      return new GoDuration(BigInt(Math.round(v * 1e9)));
    },
    stripPort: (hp: unknown) => stripPort(asString(hp)),
    stripDomain: (hp: unknown) => stripDomain(asString(hp)),
    externalURL: () => ext,
    pathPrefix: () => extPath,
    parseDuration: (d: unknown) => parseDuration(asString(d)) / 1000,
  };
}

/** The variables Prometheus defines in front of every rule template. */
export const ALERT_TEMPLATE_DEFS =
  '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}';

export function alertTemplateData(labels: Labels, externalLabels: Labels, externalUrl: string, value: number) {
  return {
    __goType: 'struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }',
    Labels: { ...labels },
    ExternalLabels: { ...externalLabels },
    ExternalURL: externalUrl,
    Value: value,
  };
}

/** Checks a rule template parses (what `promtool check rules` does). Returns the error or undefined. */
export function checkAlertTemplate(text: string, ruleName: string): string | undefined {
  try {
    compileTemplate(ALERT_TEMPLATE_DEFS + text, { name: `__alert_${ruleName}`, funcs: prometheusFuncs() });
    return undefined;
  } catch (e) {
    return e instanceof TemplateError ? e.message : String(e);
  }
}

/**
 * Expands a label or annotation template of an alerting rule. Never throws: an
 * error renders as Prometheus renders it, `<error expanding template: ...>`.
 */
export async function expandAlertTemplate(
  text: string,
  ruleName: string,
  data: ReturnType<typeof alertTemplateData>,
  funcs: FuncMap,
): Promise<{ text: string; error?: string }> {
  // Templates without actions are common; skip the parser for them.
  if (!text.includes('{{')) return { text };
  const name = `__alert_${ruleName}`;
  let tmpl;
  try {
    tmpl = cachedCompile(name, text);
  } catch (e) {
    const err = `error parsing template ${name}: ${(e as Error).message}`;
    return { text: `<error expanding template: ${err}>`, error: err };
  }
  try {
    return { text: await tmpl.executeAsync(data, funcs) };
  } catch (e) {
    const err = `error executing template ${name}: ${(e as Error).message}`;
    return { text: `<error expanding template: ${err}>`, error: err };
  }
}

const compiled = new Map<string, CompiledTemplate>();
const COMPILED_LIMIT = 10_000;
const nameCheckFuncs = prometheusFuncs();

function cachedCompile(name: string, text: string): CompiledTemplate {
  const key = `${name}\u0000${text}`;
  let t = compiled.get(key);
  if (!t) {
    t = compileTemplate(ALERT_TEMPLATE_DEFS + text, { name, funcs: nameCheckFuncs });
    if (compiled.size >= COMPILED_LIMIT) compiled.clear();
    compiled.set(key, t);
  }
  return t;
}
