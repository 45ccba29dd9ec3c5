/**
 * Notification templates: Go text/template through the shared engine in
 * src/alerts/template, with Alertmanager's extra functions and the `define`s
 * from the config's `templates:` files. A template that fails renders as a
 * visible error text instead of dropping the notification.
 */
import { readFileSync } from 'node:fs';
import { compileTemplate, type CompiledTemplate, type FuncMap } from '../template/index.js';
import type { TemplateData } from './template-data.js';
import { compileUnanchoredRegex, replaceAll } from '../../model/regex.js';

export type Render = (text: string, data: TemplateData) => string;

/** Alertmanager's template functions beyond the Go built-ins. */
export const notifyFuncs: FuncMap = {
  toUpper: (s: string) => String(s).toUpperCase(),
  toLower: (s: string) => String(s).toLowerCase(),
  title: (s: string) => String(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  join: (sep: string, list: string[]) => (list ?? []).join(sep),
  safeHtml: (s: string) => s,
  match: (re: string, s: string) => compileUnanchoredRegex(re).test(s),
  reReplaceAll: (re: string, repl: string, s: string) => replaceAll(compileUnanchoredRegex(re), String(s), repl),
  stringSlice: (...s: string[]) => s,
};

/** Named templates from the config's `templates:` files (`{{ define "x" }}`). */
export function readTemplateFiles(paths: string[]): string {
  return paths.map((p) => readFileSync(p, 'utf8')).join('\n');
}

export function makeRenderer(defs: string): Render {
  const cache = new Map<string, CompiledTemplate | Error>();
  return (text, data) => {
    if (!text.includes('{{')) return text;
    let t = cache.get(text);
    if (!t) {
      try {
        t = compileTemplate(text, { name: 'notification', funcs: notifyFuncs, defs: defs || undefined });
      } catch (err) {
        t = err as Error;
      }
      if (cache.size < 1000) cache.set(text, t);
    }
    try {
      if (t instanceof Error) throw t;
      return t.execute(data);
    } catch (err) {
      return `<error expanding template: ${(err as Error).message}>`;
    }
  };
}
