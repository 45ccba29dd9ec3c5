/**
 * Go text/template for alert labels/annotations and notification templates.
 *
 *   renderTemplate('{{ .Labels.instance }} is down', data)            // sync
 *   renderTemplateAsync(text, data, funcs)                             // when a func returns a Promise
 *   compileTemplate(text, { funcs }).execute(data)                     // parse once, run many times
 *
 * Errors (parse or execution) throw TemplateError with Go's wording.
 * Prometheus's function set and alert data shape are in ./prometheus.ts.
 */
import { goBuiltins } from './builtins.js';
import { execute, runAsync, runSync, type FuncMap, type TemplateFunc } from './exec.js';
import { parseTemplate, TemplateError, type ParsedTemplate } from './parse.js';

export { TemplateError } from './parse.js';
export type { FuncMap, TemplateFunc } from './exec.js';
export { formatValue, sprint, sprintf } from './fmt.js';
export { formatFloat } from '../../model/strconv.js';
export { GoDuration, GoTime } from './values.js';
export { queryEscape } from './builtins.js';
export { htmlEscape } from '../../model/html.js';

export interface CompileOptions {
  /** Template name used in error messages (Go: the name given to template.New). */
  name?: string;
  /** Extra functions; they override built-ins of the same name. */
  funcs?: FuncMap;
  /** Extra templates text parsed alongside ({{define}} blocks shared by many templates). */
  defs?: string;
}

export interface CompiledTemplate {
  readonly name: string;
  execute(data: unknown, funcs?: FuncMap): string;
  executeAsync(data: unknown, funcs?: FuncMap): Promise<string>;
  /** Renders a {{define}}d template by name. */
  executeNamed(name: string, data: unknown, funcs?: FuncMap): string;
  has(name: string): boolean;
}

export function compileTemplate(text: string, opts: CompileOptions = {}): CompiledTemplate {
  const name = opts.name ?? 'template';
  const baseFuncs: FuncMap = { ...goBuiltins, ...opts.funcs };
  const known = (extra?: FuncMap) => new Set([...Object.keys(baseFuncs), ...Object.keys(extra ?? {})]);
  let parsed: ParsedTemplate;
  if (opts.defs) {
    const defsParsed = parseTemplate(`${name}#defs`, opts.defs, known());
    parsed = parseTemplate(name, text, known());
    for (const [k, v] of defsParsed.defs) if (k !== `${name}#defs` && !parsed.defs.has(k)) parsed.defs.set(k, v);
  } else parsed = parseTemplate(name, text, known());
  const funcsFor = (extra?: FuncMap): FuncMap => (extra ? { ...baseFuncs, ...extra } : baseFuncs);
  return {
    name,
    execute: (data, funcs) => runSync(execute(parsed, funcsFor(funcs), data)),
    executeAsync: (data, funcs) => runAsync(execute(parsed, funcsFor(funcs), data)),
    executeNamed: (n, data, funcs) => {
      if (!parsed.defs.has(n)) throw new TemplateError(`template: no template "${n}" associated with template "${name}"`);
      return runSync(execute({ ...parsed, name: n }, funcsFor(funcs), data));
    },
    has: (n) => parsed.defs.has(n),
  };
}

/** Parses and runs a template in one go. Throws TemplateError. */
export function renderTemplate(text: string, data: unknown, funcs?: Readonly<Record<string, TemplateFunc>>, name?: string): string {
  return compileTemplate(text, { funcs, name }).execute(data);
}

export function renderTemplateAsync(
  text: string,
  data: unknown,
  funcs?: Readonly<Record<string, TemplateFunc>>,
  name?: string,
): Promise<string> {
  return compileTemplate(text, { funcs, name }).executeAsync(data);
}
