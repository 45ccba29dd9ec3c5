/**
 * Notification templates (Go text/template, as Alertmanager). Uses the shared
 * template engine from src/alerts/template when it is present; until then, a
 * small fallback covers field paths, range, if/else, with and `| toUpper`-style
 * pipes, which is what the documented templates use. A template that fails to
 * render yields a visible error text instead of dropping the notification.
 */
import { readFileSync } from 'node:fs';
import type { TemplateData } from './template-data.js';

export type Render = (text: string, data: TemplateData) => string;

type EngineModule = { renderTemplate?: (text: string, data: unknown, funcs?: Record<string, (...a: any[]) => unknown>) => string };

/** Alertmanager's template functions beyond the Go built-ins. */
export const notifyFuncs: Record<string, (...a: any[]) => unknown> = {
  toUpper: (s: string) => String(s).toUpperCase(),
  toLower: (s: string) => String(s).toLowerCase(),
  title: (s: string) => String(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  join: (sep: string, list: string[]) => (list ?? []).join(sep),
  safeHtml: (s: string) => s,
  match: (re: string, s: string) => new RegExp(re).test(s),
  reReplaceAll: (re: string, repl: string, s: string) => String(s).replace(new RegExp(re, 'g'), repl.replace(/\$(\d+)/g, '$$$1')),
  stringSlice: (...s: string[]) => s,
};

let engine: EngineModule | undefined;
let engineTried = false;

/** Loads the shared engine once; a missing or broken module leaves the fallback in use. */
export async function loadTemplateEngine(): Promise<void> {
  if (engineTried) return;
  engineTried = true;
  const path = '../template/index.js';
  try {
    const m = (await import(path)) as EngineModule;
    if (typeof m.renderTemplate === 'function') engine = m;
  } catch {
    engine = undefined;
  }
}

/** Named templates from the config's `templates:` files (`{{ define "x" }}`), prepended to each render. */
export function readTemplateFiles(paths: string[]): string {
  return paths.map((p) => readFileSync(p, 'utf8')).join('\n');
}

export function makeRenderer(defs: string): Render {
  return (text, data) => {
    if (!text.includes('{{')) return text;
    try {
      if (engine?.renderTemplate) return engine.renderTemplate(defs + text, data, notifyFuncs);
      return fallbackRender(text, data);
    } catch (err) {
      return `<error expanding template: ${(err as Error).message}>`;
    }
  };
}

// ---- fallback renderer ----

type Tok = { kind: 'text'; text: string } | { kind: 'action'; text: string };

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    if (open < 0) {
      out.push({ kind: 'text', text: text.slice(pos) });
      break;
    }
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new Error('unclosed action');
    let before = text.slice(pos, open);
    let inner = text.slice(open + 2, close);
    if (inner.startsWith('-')) {
      before = before.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    let next = close + 2;
    if (inner.endsWith('-')) {
      inner = inner.slice(0, -1);
      while (next < text.length && /\s/.test(text[next])) next++;
    }
    if (before) out.push({ kind: 'text', text: before });
    out.push({ kind: 'action', text: inner.trim() });
    pos = next;
  }
  return out;
}

type Node = { t: 'text'; s: string } | { t: 'expr'; e: string } | { t: 'block'; kind: 'range' | 'if' | 'with'; e: string; body: Node[]; alt: Node[] };

function parse(toks: Tok[]): Node[] {
  let i = 0;
  const block = (): { body: Node[]; end: string } => {
    const body: Node[] = [];
    while (i < toks.length) {
      const t = toks[i++];
      if (t.kind === 'text') body.push({ t: 'text', s: t.text });
      else if (t.text.startsWith('/*')) continue;
      else if (t.text === 'end' || t.text === 'else') return { body, end: t.text };
      else {
        const m = /^(range|if|with)\s+(.*)$/.exec(t.text);
        if (m) {
          const first = block();
          const alt = first.end === 'else' ? block().body : [];
          body.push({ t: 'block', kind: m[1] as 'range', e: m[2], body: first.body, alt });
        } else body.push({ t: 'expr', e: t.text });
      }
    }
    return { body, end: '' };
  };
  return block().body;
}

function lookup(dot: unknown, root: unknown, expr: string): unknown {
  const [head, ...pipes] = expr.split('|').map((s) => s.trim());
  let v: unknown;
  if (head === '.') v = dot;
  else if (head.startsWith('.') || head.startsWith('$.')) {
    v = head.startsWith('$') ? root : dot;
    for (const part of head.replace(/^\$?\./, '').split('.')) {
      if (v == null) return undefined;
      const x = (v as Record<string, unknown>)[part];
      v = typeof x === 'function' ? (x as () => unknown).call(v) : x;
    }
  } else if (/^".*"$/.test(head)) v = JSON.parse(head);
  else throw new Error(`unsupported expression "${head}"`);
  for (const p of pipes) {
    const [fn, ...args] = p.split(/\s+/);
    const f = notifyFuncs[fn] ?? (fn === 'len' ? (x: unknown[]) => (x ? Object.keys(x).length : 0) : undefined);
    if (!f) throw new Error(`function "${fn}" not defined`);
    v = f(...args.map((a) => JSON.parse(a)), v);
  }
  return v;
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return !!v;
}

function exec(nodes: Node[], dot: unknown, root: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.s;
    else if (n.t === 'expr') {
      const v = lookup(dot, root, n.e);
      out += v instanceof Date ? v.toISOString() : v == null ? '<no value>' : String(v);
    } else {
      const v = lookup(dot, root, n.e);
      if (n.kind === 'range') {
        const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.keys(v).sort().map((k) => (v as Record<string, unknown>)[k]) : [];
        out += items.length ? items.map((x) => exec(n.body, x, root)).join('') : exec(n.alt, dot, root);
      } else if (truthy(v)) out += exec(n.body, n.kind === 'with' ? v : dot, root);
      else out += exec(n.alt, dot, root);
    }
  }
  return out;
}

export function fallbackRender(text: string, data: unknown): string {
  return exec(parse(tokenize(text)), data, data);
}
