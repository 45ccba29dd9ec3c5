/**
 * Executes a parsed template with Go's text/template semantics. Evaluation is
 * written as generators that yield Promises, so the same code runs
 * synchronously (functions must not return Promises) or asynchronously (for
 * Prometheus's `query`, which reads storage).
 */
import { argString, type Arg, type Command, type Node, type Pipe } from './ast.js';
import { formatValue } from './fmt.js';
import { TemplateError, type ParsedTemplate } from './parse.js';
import { GoTime, goTypeName, isMap, isStruct, mapEntries, mapGet, truth } from './values.js';

export type TemplateFunc = (...args: any[]) => unknown;
export type FuncMap = Readonly<Record<string, TemplateFunc>>;

const MAX_DEPTH = 200;
const MAX_OUTPUT = 1 << 20;

class BreakSignal {}
class ContinueSignal {}

/** Thrown by functions to report an error as `error calling NAME: message`. */
type Gen<T> = Generator<Promise<unknown>, T, unknown>;

interface Var {
  name: string;
  value: unknown;
}

class State {
  out = '';
  vars: Var[];
  depth = 0;
  tmplName: string;
  constructor(
    readonly tmpl: ParsedTemplate,
    readonly funcs: FuncMap,
    dot: unknown,
  ) {
    this.vars = [{ name: '$', value: dot }];
    this.tmplName = tmpl.name;
  }

  errorf(at: { pos: number }, context: string, msg: string): never {
    const text = this.tmpl.text.slice(0, at.pos);
    const nl = text.lastIndexOf('\n');
    const line = 1 + (text.match(/\n/g)?.length ?? 0);
    const col = nl < 0 ? at.pos : at.pos - nl - 1;
    throw new TemplateError(`template: ${this.tmpl.name}:${line}:${col}: executing "${this.tmplName}" at <${context}>: ${msg}`);
  }

  write(s: string): void {
    this.out += s;
    if (this.out.length > MAX_OUTPUT) throw new TemplateError(`template: ${this.tmpl.name}: output exceeds ${MAX_OUTPUT} bytes`);
  }

  varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    throw new TemplateError(`template: ${this.tmpl.name}: undefined variable: ${name}`);
  }
  setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--)
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
  }
}

export function* execute(tmpl: ParsedTemplate, funcs: FuncMap, data: unknown): Gen<string> {
  const s = new State(tmpl, funcs, data);
  const root = tmpl.defs.get(tmpl.name) ?? tmpl.root;
  yield* walkList(s, data, root);
  return s.out;
}

function* walkList(s: State, dot: unknown, list: Node[]): Gen<void> {
  for (const n of list) yield* walk(s, dot, n);
}

function* walk(s: State, dot: unknown, node: Node): Gen<void> {
  switch (node.type) {
    case 'text':
      s.write(node.text);
      return;
    case 'action': {
      const mark = s.vars.length;
      const v = yield* evalPipeline(s, dot, node.pipe);
      s.vars.length = mark + (node.pipe.decl.length && !node.pipe.isAssign ? node.pipe.decl.length : 0);
      // Go keeps variables declared by an action in scope until the enclosing block ends.
      if (node.pipe.decl.length === 0) s.write(printable(s, node.pipe, v));
      return;
    }
    case 'if':
    case 'with': {
      const mark = s.vars.length;
      const v = yield* evalPipeline(s, dot, node.pipe);
      const t = truthOrError(s, node.pipe, v);
      if (t) yield* walkList(s, node.type === 'with' ? v : dot, node.list);
      else if (node.elseList) yield* walkList(s, dot, node.elseList);
      s.vars.length = mark;
      return;
    }
    case 'range':
      yield* walkRange(s, dot, node);
      return;
    case 'break':
      throw new BreakSignal();
    case 'continue':
      throw new ContinueSignal();
    case 'template': {
      const body = s.tmpl.defs.get(node.name);
      if (!body) s.errorf(node, `{{template "${node.name}"}}`, `no such template "${node.name}"`);
      const v = node.pipe ? yield* evalPipeline(s, dot, node.pipe) : undefined;
      if (++s.depth > MAX_DEPTH) s.errorf(node, `{{template "${node.name}"}}`, `exceeded maximum template depth (${MAX_DEPTH})`);
      const savedVars = s.vars;
      const savedName = s.tmplName;
      s.vars = [{ name: '$', value: v }];
      s.tmplName = node.name;
      try {
        yield* walkList(s, v, body);
      } finally {
        s.vars = savedVars;
        s.tmplName = savedName;
        s.depth--;
      }
      return;
    }
  }
}

function* walkRange(s: State, dot: unknown, node: Extract<Node, { type: 'if' | 'with' | 'range' }>): Gen<void> {
  const mark = s.vars.length;
  const v = yield* evalPipeline(s, dot, node.pipe);
  s.vars.length = mark;
  let items: Array<[unknown, unknown]>;
  if (Array.isArray(v)) items = v.map((x, i) => [BigInt(i), x]);
  else if (typeof v === 'bigint') {
    if (v > 1_000_000n) s.errorf(node, 'range', `range count ${v} too large`);
    items = [];
    for (let i = 0n; i < v; i++) items.push([i, i]);
  } else if (v === null || v === undefined) items = [];
  else if (isMap(v) && !isStruct(v)) items = mapEntries(v);
  else s.errorf(node, 'range', `range can't iterate over ${formatValue(v)}`);
  const decl = node.pipe.decl;
  for (const [k, x] of items) {
    const m = s.vars.length;
    if (decl.length === 1) assignOrPush(s, node.pipe, decl[0], x);
    else if (decl.length === 2) {
      assignOrPush(s, node.pipe, decl[0], k);
      assignOrPush(s, node.pipe, decl[1], x);
    }
    try {
      yield* walkList(s, x, node.list);
    } catch (e) {
      if (e instanceof BreakSignal) {
        s.vars.length = m;
        break;
      }
      if (!(e instanceof ContinueSignal)) throw e;
    }
    s.vars.length = m;
  }
  if (items.length === 0 && node.elseList) yield* walkList(s, dot, node.elseList);
  s.vars.length = mark;
}

function assignOrPush(s: State, pipe: Pipe, name: string, value: unknown): void {
  if (pipe.isAssign) s.setVar(name, value);
  else s.vars.push({ name, value });
}

function truthOrError(_s: State, _pipe: Pipe, v: unknown): boolean {
  return truth(v);
}

function printable(_s: State, _pipe: Pipe, v: unknown): string {
  return formatValue(v);
}

function* evalPipeline(s: State, dot: unknown, pipe: Pipe): Gen<unknown> {
  let value: unknown = NO_FINAL;
  for (const cmd of pipe.cmds) value = yield* evalCommand(s, dot, cmd, value);
  if (pipe.decl.length) {
    if (pipe.isAssign) s.setVar(pipe.decl[0], value);
    else s.vars.push({ name: pipe.decl[0], value });
  }
  return value === NO_FINAL ? undefined : value;
}

const NO_FINAL = Symbol('noFinal');

function* evalCommand(s: State, dot: unknown, cmd: Command, final: unknown): Gen<unknown> {
  const first = cmd.args[0];
  switch (first.type) {
    case 'field':
      return yield* evalFieldChain(s, dot, dot, first, first.ident, cmd.args, final);
    case 'chain': {
      const base = yield* evalArg(s, dot, first.node);
      return yield* evalFieldChain(s, dot, base, first, first.fields, cmd.args, final);
    }
    case 'identifier':
      return yield* evalFunction(s, dot, first.name, cmd, final);
    case 'pipe':
      notAFunction(s, cmd, final);
      return yield* evalPipeline(s, dot, first.pipe);
    case 'variable': {
      const base = s.varValue(first.ident[0]);
      if (first.ident.length === 1) {
        notAFunction(s, cmd, final);
        return base;
      }
      return yield* evalFieldChain(s, dot, base, first, first.ident.slice(1), cmd.args, final);
    }
  }
  notAFunction(s, cmd, final);
  return yield* evalArg(s, dot, first);
}

function notAFunction(s: State, cmd: Command, final: unknown): void {
  if (cmd.args.length > 1 || final !== NO_FINAL) s.errorf(cmd.args[0], argString(cmd.args[0]), `can't give argument to non-function ${argString(cmd.args[0])}`);
}

function* evalArg(s: State, dot: unknown, a: Arg): Gen<unknown> {
  switch (a.type) {
    case 'dot':
      return dot;
    case 'nil':
      return null;
    case 'bool':
      return a.value;
    case 'number':
      return a.isInt ? a.int : a.float;
    case 'string':
      return a.value;
    case 'variable': {
      const base = s.varValue(a.ident[0]);
      if (a.ident.length === 1) return base;
      return yield* evalFieldChain(s, dot, base, a, a.ident.slice(1), [a], NO_FINAL);
    }
    case 'field':
      return yield* evalFieldChain(s, dot, dot, a, a.ident, [a], NO_FINAL);
    case 'chain': {
      const base = yield* evalArg(s, dot, a.node);
      return yield* evalFieldChain(s, dot, base, a, a.fields, [a], NO_FINAL);
    }
    case 'pipe':
      return yield* evalPipeline(s, dot, a.pipe);
    case 'identifier':
      return yield* evalFunction(s, dot, a.name, { args: [a], pos: a.pos, line: a.line }, NO_FINAL);
  }
}

function* evalFieldChain(
  s: State,
  dot: unknown,
  receiver: unknown,
  node: Arg,
  ident: string[],
  args: Arg[],
  final: unknown,
): Gen<unknown> {
  let r = receiver;
  for (let i = 0; i < ident.length; i++) {
    const last = i === ident.length - 1;
    r = yield* evalField(s, dot, ident[i], node, last ? args : [node], last ? final : NO_FINAL, r);
  }
  return r;
}

function* evalField(s: State, dot: unknown, name: string, node: Arg, args: Arg[], final: unknown, receiver: unknown): Gen<unknown> {
  const ctx = argString(node);
  if (receiver === null || receiver === undefined) {
    // Go: a field of a missing map entry is itself missing ("<no value>").
    if (receiver === undefined) return undefined;
    s.errorf(node, ctx, `nil pointer evaluating interface {}.${name}`);
  }
  const hasArgs = args.length > 1 || final !== NO_FINAL;
  if (typeof receiver === 'object') {
    const member = (receiver as Record<string, unknown>)[name];
    if (isStruct(receiver) || receiver instanceof GoTime) {
      if (typeof member === 'function') {
        const callArgs: unknown[] = [];
        for (const a of args.slice(1)) callArgs.push(yield* evalArg(s, dot, a));
        if (final !== NO_FINAL) callArgs.push(final);
        return yield* callFn(s, node, name, member.bind(receiver) as TemplateFunc, callArgs);
      }
      if (!Object.prototype.hasOwnProperty.call(receiver, name))
        s.errorf(node, ctx, `can't evaluate field ${name} in type ${goTypeName(receiver)}`);
      if (hasArgs) s.errorf(node, ctx, `${name} has arguments but cannot be invoked as function`);
      return member;
    }
    if (isMap(receiver)) {
      if (hasArgs) s.errorf(node, ctx, `${name} is not a method but has arguments`);
      return mapGet(receiver, name);
    }
  }
  s.errorf(node, ctx, `can't evaluate field ${name} in type ${goTypeName(receiver)}`);
}

function* evalFunction(s: State, dot: unknown, name: string, cmd: Command, final: unknown): Gen<unknown> {
  const node = cmd.args[0];
  const argNodes = cmd.args.slice(1);
  // and/or evaluate their arguments lazily, as Go 1.18+ does.
  if (name === 'and' || name === 'or') {
    const total = argNodes.length + (final !== NO_FINAL ? 1 : 0);
    if (total < 1) s.errorf(node, name, `wrong number of args for ${name}: want at least 1 got 0`);
    let v: unknown;
    for (let i = 0; i < total; i++) {
      v = i < argNodes.length ? yield* evalArg(s, dot, argNodes[i]) : final;
      if (name === 'and' ? !truth(v) : truth(v)) return v;
    }
    return v;
  }
  const fn = s.funcs[name];
  if (!fn) s.errorf(node, name, `"${name}" is not a defined function`);
  const args: unknown[] = [];
  for (const a of argNodes) args.push(yield* evalArg(s, dot, a));
  if (final !== NO_FINAL) args.push(final);
  return yield* callFn(s, node, name, fn, args, commandText(cmd));
}

function commandText(cmd: Command): string {
  return cmd.args.map(argString).join(' ');
}

function* callFn(s: State, node: Arg, name: string, fn: TemplateFunc, args: unknown[], ctx = name): Gen<unknown> {
  let r: unknown;
  try {
    r = fn(...args);
    if (r instanceof Promise) r = yield r;
  } catch (e) {
    if (e instanceof TemplateError || e instanceof BreakSignal || e instanceof ContinueSignal) throw e;
    s.errorf(node, ctx, `error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return r;
}

/** Runs a template generator to completion; fails if a function needed to await. */
export function runSync<T>(gen: Gen<T>): T {
  const step = gen.next();
  if (!step.done) {
    gen.return(undefined as T);
    throw new TemplateError('template: a function returned a Promise; use renderTemplateAsync');
  }
  return step.value;
}

export async function runAsync<T>(gen: Gen<T>): Promise<T> {
  let step = gen.next();
  while (!step.done) {
    let value: unknown;
    try {
      value = await step.value;
    } catch (e) {
      step = gen.throw(e);
      continue;
    }
    step = gen.next(value);
  }
  return step.value;
}
