import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { interpolateEnv } from './interpolate.js';

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Skip `${ENV}` substitution (files in Prometheus formats, which have none). */
  interpolate?: boolean;
}

/**
 * Reads a YAML file, substitutes environment variables, and validates it with a
 * schema. Every problem is reported with its path and line; nothing partial is
 * returned. Shared by vigil.yml, rule files and notification configs.
 */
export function loadYamlFile<S extends z.ZodType>(file: string, schema: S, opts: LoadOptions = {}): z.output<S> {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
  return parseYamlText(raw, file, schema, opts);
}

export function parseYamlText<S extends z.ZodType>(raw: string, file: string, schema: S, opts: LoadOptions = {}): z.output<S> {
  return parseYamlDocument(raw, file, schema, opts).data;
}

/** Finds the line of a path in the parsed document (the nearest existing parent for a missing key). */
export type Locate = (path: readonly PropertyKey[]) => number | undefined;

/**
 * Parses and validates like parseYamlText, and also returns a locator so that
 * later checks (referenced files, cross-field rules) can name the line too.
 * Unset environment variables are reported together with every schema error,
 * so one missing variable does not hide the rest.
 */
export function parseYamlDocument<S extends z.ZodType>(raw: string, file: string, schema: S, opts: LoadOptions = {}): { data: z.output<S>; locate: Locate } {
  let text = raw;
  const issues: ConfigIssue[] = [];
  if (opts.interpolate !== false) {
    const r = interpolateEnv(raw, opts.env);
    for (const e of r.errors) issues.push({ path: '', line: e.line, message: e.message });
    text = r.text;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    issues.push(...doc.errors.map((e) => ({ path: '', line: lineCounter.linePos(e.pos[0]).line, message: e.message.split('\n')[0] })));
    throw new ConfigError(file, issues);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new ConfigError(file, [...issues, { path: '', message: (err as Error).message }]);
  }
  const locate: Locate = (path) => lineOf(doc, lineCounter, path);
  const result = schema.safeParse(data);
  if (!result.success) {
    // A value left empty by an unset variable fails the schema too; its line already says why.
    const envLines = new Set(issues.map((i) => i.line));
    for (const i of result.error.issues) {
      const line = locate(i.path);
      if (line !== undefined && envLines.has(line)) continue;
      issues.push({ path: formatPath(i.path), message: i.message, line });
    }
  }
  if (issues.length) throw new ConfigError(file, issues);
  return { data: (result as { data: z.output<S> }).data, locate };
}

function lineOf(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): number | undefined {
  // Walk up to the deepest existing node so a missing key still points near it.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}
