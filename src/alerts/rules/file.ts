/**
 * Rule files in Prometheus's format (rulefmt): parsing and validation with
 * errors worded and positioned as `promtool check rules` reports them
 * (`file: line:col: group "g", rule 1, "Name": message`).
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode, type Pair } from 'yaml';
import { parseDuration } from '../../model/duration.js';
import { parseExpr } from '../../promql/parser.js';
import type { Expr } from '../../promql/ast.js';
import { checkAlertTemplate } from '../template/prometheus.js';

export interface RuleSpec {
  kind: 'alert' | 'record';
  name: string;
  expr: string;
  ast: Expr;
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** 1-based line of the rule in its file. */
  line: number;
}

export interface GroupSpec {
  file: string;
  name: string;
  intervalMs?: number;
  queryOffsetMs?: number;
  limit: number;
  labels: Record<string, string>;
  rules: RuleSpec[];
  line: number;
}

export interface RuleFileResult {
  groups: GroupSpec[];
  errors: string[];
}

/** Largest rule file read; a larger one is rejected rather than parsed. */
export const MAX_RULE_FILE_BYTES = 16 * 1024 * 1024;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const GROUP_KEYS = new Set(['name', 'interval', 'query_offset', 'limit', 'rules', 'labels']);
const RULE_KEYS = new Set(['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

export function loadRuleFile(file: string): RuleFileResult {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_RULE_FILE_BYTES) return { groups: [], errors: [`${file}: file too large (${buf.length} bytes, limit ${MAX_RULE_FILE_BYTES})`] };
    text = buf.toString('utf8');
  } catch (e) {
    return { groups: [], errors: [`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`] };
  }
  return parseRuleFile(text, file);
}

export function parseRuleFile(text: string, file: string): RuleFileResult {
  const lc = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    return { groups: [], errors: [`${file}: yaml: ${(e as Error).message}`] };
  }
  if (doc.errors.length) {
    return {
      groups: [],
      errors: doc.errors.map((e) => `${file}: yaml: line ${lc.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`),
    };
  }
  const errors: string[] = [];
  const groups: GroupSpec[] = [];
  const pos = (n: YamlNode | null | undefined) => {
    if (!n?.range) return '';
    const p = lc.linePos(n.range[0]);
    return `${p.line}:${p.col}: `;
  };
  const lineOf = (n: YamlNode | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : 0);
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return { groups, errors };
  if (!isMap(root)) return { groups, errors: [`${file}: ${pos(root)}yaml: rule file must be a mapping with a "groups" key`] };
  for (const pair of root.items as Pair<YamlNode, YamlNode>[]) {
    const k = String((pair.key as { value?: unknown })?.value);
    if (k !== 'groups') errors.push(`${file}: ${pos(pair.key)}yaml: field ${k} not found in type rulefmt.RuleGroups`);
  }
  const groupsNode = root.get('groups', true) as YamlNode | undefined;
  if (groupsNode === undefined || (isScalar(groupsNode) && groupsNode.value === null)) return { groups, errors };
  if (!isSeq(groupsNode)) return { groups, errors: [...errors, `${file}: ${pos(groupsNode)}yaml: "groups" must be a list`] };
  const seen = new Set<string>();
  for (const gNode of groupsNode.items as YamlNode[]) {
    if (!isMap(gNode)) {
      errors.push(`${file}: ${pos(gNode)}yaml: a group must be a mapping`);
      continue;
    }
    for (const pair of gNode.items as Pair<YamlNode, YamlNode>[]) {
      const k = String((pair.key as { value?: unknown })?.value);
      if (!GROUP_KEYS.has(k)) errors.push(`${file}: ${pos(pair.key)}yaml: field ${k} not found in type rulefmt.RuleGroup`);
    }
    const nameNode = gNode.get('name', true) as YamlNode | undefined;
    const gname = scalarString(nameNode);
    if (!gname) {
      errors.push(`${file}: ${pos(gNode)}Groupname must not be empty`);
      continue;
    }
    if (seen.has(gname)) {
      errors.push(`${file}: ${pos(gNode)}groupname: "${gname}" is repeated in the same file`);
      continue;
    }
    seen.add(gname);
    const g: GroupSpec = { file, name: gname, limit: 0, labels: {}, rules: [], line: lineOf(gNode) };
    const gerr = (n: YamlNode | undefined, msg: string) => errors.push(`${file}: ${pos(n)}group "${gname}": ${msg}`);
    for (const key of ['interval', 'query_offset'] as const) {
      const n = gNode.get(key, true) as YamlNode | undefined;
      if (n === undefined) continue;
      try {
        const ms = parseDuration(scalarString(n) ?? '');
        if (key === 'interval') g.intervalMs = ms;
        else g.queryOffsetMs = ms;
      } catch (e) {
        gerr(n, `${key}: ${(e as Error).message}`);
      }
    }
    const limitNode = gNode.get('limit', true) as YamlNode | undefined;
    if (limitNode !== undefined) {
      const v = isScalar(limitNode) ? limitNode.value : undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) gerr(limitNode, 'limit must be a non-negative integer');
      else g.limit = v;
    }
    const gl = readStringMap(gNode.get('labels', true) as YamlNode | undefined, (n, m) => gerr(n, m));
    if (gl) g.labels = gl;
    const rulesNode = gNode.get('rules', true) as YamlNode | undefined;
    if (rulesNode !== undefined && !(isScalar(rulesNode) && rulesNode.value === null)) {
      if (!isSeq(rulesNode)) gerr(rulesNode, 'rules must be a list');
      else
        (rulesNode.items as YamlNode[]).forEach((rNode, i) => {
          const r = parseRule(rNode, i + 1, gname, file, pos, lineOf, errors);
          if (r) g.rules.push(r);
        });
    }
    groups.push(g);
  }
  return { groups, errors };
}

function parseRule(
  rNode: YamlNode,
  index: number,
  group: string,
  file: string,
  pos: (n: YamlNode | null | undefined) => string,
  lineOf: (n: YamlNode | null | undefined) => number,
  errors: string[],
): RuleSpec | undefined {
  if (!isMap(rNode)) {
    errors.push(`${file}: ${pos(rNode)}group "${group}", rule ${index}: a rule must be a mapping`);
    return undefined;
  }
  const get = (k: string) => rNode.get(k, true) as YamlNode | undefined;
  const alert = scalarString(get('alert'));
  const record = scalarString(get('record'));
  const name = alert ?? record ?? '';
  const before = errors.length;
  const err = (n: YamlNode | undefined, msg: string) =>
    errors.push(`${file}: ${pos(n)}group "${group}", rule ${index}${name ? `, "${name}"` : ''}: ${msg}`);
  for (const pair of rNode.items as Pair<YamlNode, YamlNode>[]) {
    const k = String((pair.key as { value?: unknown })?.value);
    if (!RULE_KEYS.has(k)) err(pair.key, `field ${k} not found in type rulefmt.Rule`);
  }
  if (record !== undefined && alert !== undefined) err(undefined, "only one of 'record' and 'alert' must be set");
  if (record === undefined && alert === undefined) {
    err(undefined, "one of 'record' or 'alert' must be set");
    return undefined;
  }
  const exprNode = get('expr');
  const expr = scalarString(exprNode);
  let ast: Expr | undefined;
  if (!expr) err(undefined, "field 'expr' must be set in rule");
  else {
    try {
      ast = parseExpr(expr);
    } catch (e) {
      err(exprNode, `could not parse expression: ${(e as Error).message}`);
    }
  }
  let forMs = 0;
  let keepFiringForMs = 0;
  for (const key of ['for', 'keep_firing_for'] as const) {
    const n = get(key);
    if (n === undefined) continue;
    if (record !== undefined) {
      err(n, `invalid field '${key}' in recording rule`);
      continue;
    }
    try {
      const ms = parseDuration(scalarString(n) ?? '');
      if (key === 'for') forMs = ms;
      else keepFiringForMs = ms;
    } catch (e) {
      err(n, `${key}: ${(e as Error).message}`);
    }
  }
  if (record !== undefined) {
    if (get('annotations') !== undefined) err(get('annotations'), "invalid field 'annotations' in recording rule");
    if (!METRIC_NAME.test(record)) err(get('record'), `invalid recording rule name: ${record}`);
  }
  const labels = readStringMap(get('labels'), err, 'label') ?? {};
  const annotations = readStringMap(get('annotations'), err, 'annotation') ?? {};
  for (const l of Object.keys(labels)) {
    if (!LABEL_NAME.test(l)) err(get('labels'), `invalid label name: ${l}`);
    if (record !== undefined && l === '__name__') err(get('labels'), `invalid recording rule label name: ${l}`);
  }
  for (const a of Object.keys(annotations)) if (!LABEL_NAME.test(a)) err(get('annotations'), `invalid annotation name: ${a}`);
  if (alert !== undefined) {
    // promtool checks every label and annotation template parses.
    for (const [k, v] of Object.entries(labels)) {
      const e = checkAlertTemplate(v, alert);
      if (e) err(undefined, `label "${k}": ${e}`);
    }
    for (const [k, v] of Object.entries(annotations)) {
      const e = checkAlertTemplate(v, alert);
      if (e) err(undefined, `annotation "${k}": ${e}`);
    }
  }
  if (errors.length > before || !ast || !expr) return undefined;
  return { kind: alert !== undefined ? 'alert' : 'record', name, expr, ast, forMs, keepFiringForMs, labels, annotations, line: lineOf(rNode) };
}

function scalarString(n: YamlNode | undefined): string | undefined {
  if (n === undefined || !isScalar(n) || n.value === null || n.value === undefined) return undefined;
  return String(n.value);
}

function readStringMap(
  n: YamlNode | undefined,
  err: (n: YamlNode | undefined, m: string) => void,
  what = 'label',
): Record<string, string> | undefined {
  if (n === undefined || (isScalar(n) && n.value === null)) return undefined;
  if (!isMap(n)) {
    err(n, `${what}s must be a mapping of names to strings`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const pair of n.items as Pair<YamlNode, YamlNode>[]) {
    const k = scalarString(pair.key);
    if (k === undefined) continue;
    const v = pair.value;
    if (v && !isScalar(v)) {
      err(v, `${what} "${k}" must be a string`);
      continue;
    }
    out[k] = scalarString(v ?? undefined) ?? '';
  }
  return out;
}
