import type { Arg, Command, Node, Pipe } from './ast.js';
import { lex, type Token } from './lexer.js';

/** A template syntax or execution error, worded like Go's text/template errors. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface ParsedTemplate {
  name: string;
  text: string;
  root: Node[];
  /** Named templates from define/block, including the root under `name`. */
  defs: Map<string, Node[]>;
}

/**
 * Parses template text. `funcs` is the set of known function names: as in Go, an
 * unknown function is a parse error rather than an execution error.
 */
export function parseTemplate(name: string, text: string, funcs: ReadonlySet<string>): ParsedTemplate {
  const p = new Parser(name, text, lex(text), funcs);
  const root = p.parseRoot();
  const defs = new Map(p.defs);
  if (!defs.has(name) || root.some((n) => n.type !== 'text' || n.text.trim() !== '')) defs.set(name, root);
  return { name, text, root, defs };
}

class Parser {
  private i = 0;
  readonly defs = new Map<string, Node[]>();
  private vars: string[] = ['$'];
  private rangeDepth = 0;

  constructor(
    private readonly name: string,
    private readonly text: string,
    private readonly toks: Token[],
    private readonly funcs: ReadonlySet<string>,
  ) {}

  private error(msg: string, tok: Token = this.peek()): never {
    throw new TemplateError(`template: ${this.name}:${tok.line}: ${msg}`);
  }

  private peek(): Token {
    return this.toks[this.i];
  }
  private next(): Token {
    const t = this.toks[this.i];
    if (t.kind === 'error') this.error(t.value, t);
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private backup(): void {
    this.i--;
  }
  private peekNonSpace(): Token {
    while (this.peek().kind === 'space') this.i++;
    const t = this.peek();
    if (t.kind === 'error') this.error(t.value, t);
    return t;
  }
  private nextNonSpace(): Token {
    this.peekNonSpace();
    return this.next();
  }
  private expect(kind: Token['kind'], context: string): Token {
    const t = this.nextNonSpace();
    if (t.kind !== kind) this.unexpected(t, context);
    return t;
  }
  private unexpected(t: Token, context: string): never {
    if (t.kind === 'eof') this.error(`unexpected EOF`, t);
    this.error(`unexpected ${describe(t)} in ${context}`, t);
  }

  parseRoot(): Node[] {
    const list: Node[] = [];
    while (this.peek().kind !== 'eof') {
      if (this.peek().kind === 'error') this.error(this.peek().value, this.peek());
      if (this.peek().kind === 'left') {
        const save = this.i;
        this.next();
        const t = this.nextNonSpace();
        if (t.kind === 'keyword' && t.value === 'define') {
          this.parseDefine(t);
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (n.type !== 'node') this.error(`unexpected {{${n.type}}}`, this.toks[this.i - 1]);
      list.push(n.node);
    }
    return list;
  }

  private parseDefine(at: Token): void {
    const nameTok = this.nextNonSpace();
    if (nameTok.kind !== 'string' && nameTok.kind !== 'rawString') this.unexpected(nameTok, 'define clause');
    const defName = unquote(nameTok.value, (m) => this.error(m, nameTok));
    this.expect('right', 'define clause');
    const saved = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    this.vars = saved;
    if (end !== 'end') this.error(`unexpected {{else}} in define`, at);
    this.addDef(defName, list, at);
  }

  private addDef(defName: string, list: Node[], at: Token): void {
    const existing = this.defs.get(defName);
    // Go allows redefinition only when one of the two is empty.
    if (existing && !isEmpty(existing) && !isEmpty(list)) this.error(`template: multiple definition of template "${defName}"`, at);
    if (!existing || !isEmpty(list)) this.defs.set(defName, list);
  }

  /** Parses nodes until {{end}} or {{else}}; returns which one ended it. */
  private itemList(): [Node[], 'end' | 'else', Token] {
    const list: Node[] = [];
    for (;;) {
      const t = this.peekNonSpaceOrText();
      if (t.kind === 'eof') this.error('unexpected EOF', t);
      const n = this.textOrAction();
      if (n.type !== 'node') return [list, n.type, n.tok];
      list.push(n.node);
    }
  }

  private peekNonSpaceOrText(): Token {
    const t = this.peek();
    if (t.kind === 'error') this.error(t.value, t);
    return t;
  }

  private textOrAction(): { type: 'node'; node: Node } | { type: 'end' | 'else'; tok: Token } {
    const t = this.next();
    if (t.kind === 'text') return { type: 'node', node: { type: 'text', text: t.value, pos: t.pos, line: t.line } };
    if (t.kind === 'left') return this.action(t);
    this.unexpected(t, 'input');
  }

  private action(left: Token): { type: 'node'; node: Node } | { type: 'end' | 'else'; tok: Token } {
    const t = this.nextNonSpace();
    if (t.kind === 'keyword') {
      switch (t.value) {
        case 'end':
          this.expect('right', 'end');
          return { type: 'end', tok: t };
        case 'else':
          return { type: 'else', tok: t };
        case 'if':
        case 'with':
        case 'range':
          return { type: 'node', node: this.control(t.value, t) };
        case 'template':
          return { type: 'node', node: this.templateControl(t) };
        case 'block':
          return { type: 'node', node: this.blockControl(t) };
        case 'break':
        case 'continue':
          if (this.rangeDepth === 0) this.error(`{{${t.value}}} outside {{range}}`, t);
          this.expect('right', t.value);
          return { type: 'node', node: { type: t.value, pos: t.pos, line: t.line } };
        case 'define':
          this.error('unexpected <define> in command', t);
      }
    }
    this.backup();
    const pipe = this.pipeline('command', 'right');
    return { type: 'node', node: { type: 'action', pipe, pos: left.pos, line: left.line } };
  }

  private control(kind: 'if' | 'with' | 'range', at: Token): Node {
    const varsLen = this.vars.length;
    const pipe = this.pipeline(kind, 'right');
    if (pipe.cmds.length === 0) this.error(`missing value for ${kind}`, at);
    if (kind === 'range') this.rangeDepth++;
    const [list, firstEnd] = this.itemList();
    let end = firstEnd;
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | undefined;
    if (end === 'else') {
      // `{{else if ...}}` / `{{else with ...}}` nests a new control inside the else branch.
      const t = this.peekNonSpace();
      if ((kind === 'if' && t.kind === 'keyword' && t.value === 'if') || (kind === 'with' && t.kind === 'keyword' && t.value === 'with')) {
        this.next();
        elseList = [this.control(kind, t)];
        end = 'end';
      } else {
        this.expect('right', 'else');
        let elseEnd: 'end' | 'else';
        [elseList, elseEnd] = this.itemList();
        if (elseEnd === 'else') this.error(`expected end; found {{else}}`, at);
      }
    }
    this.vars.length = varsLen;
    return { type: kind, pipe, list, elseList, pos: at.pos, line: at.line };
  }

  private templateControl(at: Token): Node {
    const nameTok = this.nextNonSpace();
    if (nameTok.kind !== 'string' && nameTok.kind !== 'rawString') this.unexpected(nameTok, 'template clause');
    const tname = unquote(nameTok.value, (m) => this.error(m, nameTok));
    let pipe: Pipe | undefined;
    if (this.peekNonSpace().kind !== 'right') pipe = this.pipeline('template', 'right');
    else this.next();
    return { type: 'template', name: tname, pipe, pos: at.pos, line: at.line };
  }

  private blockControl(at: Token): Node {
    const nameTok = this.nextNonSpace();
    if (nameTok.kind !== 'string' && nameTok.kind !== 'rawString') this.unexpected(nameTok, 'block clause');
    const tname = unquote(nameTok.value, (m) => this.error(m, nameTok));
    let pipe: Pipe | undefined;
    if (this.peekNonSpace().kind !== 'right') pipe = this.pipeline('block', 'right');
    else this.next();
    const saved = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    this.vars = saved;
    if (end !== 'end') this.error('unexpected {{else}} in block clause', at);
    this.addDef(tname, list, at);
    return { type: 'template', name: tname, pipe, pos: at.pos, line: at.line };
  }

  private pipeline(context: string, end: 'right' | 'rightParen'): Pipe {
    const start = this.peekNonSpace();
    const pipe: Pipe = { decl: [], isAssign: false, cmds: [], pos: start.pos, line: start.line };
    // Declarations: `$x :=`, `$x =`, and in range `$i, $v :=`.
    if (start.kind === 'variable') {
      const save = this.i;
      const v = this.next();
      const after = this.peekNonSpace();
      if (after.kind === 'declare' || after.kind === 'assign') {
        this.next();
        pipe.decl.push(v.value);
        pipe.isAssign = after.kind === 'assign';
        if (pipe.isAssign && !this.vars.includes(v.value)) this.error(`undefined variable "${v.value}"`, v);
      } else if (after.kind === 'comma' && context === 'range') {
        this.next();
        const v2 = this.expect('variable', 'range');
        const op = this.nextNonSpace();
        if (op.kind !== 'declare' && op.kind !== 'assign') this.error(`expected := or = after ${v2.value}`, op);
        pipe.decl.push(v.value, v2.value);
        pipe.isAssign = op.kind === 'assign';
      } else {
        this.i = save;
      }
      if (!pipe.isAssign) for (const d of pipe.decl) this.vars.push(d);
    }
    for (;;) {
      const t = this.peekNonSpace();
      if (t.kind === end) {
        this.next();
        if (pipe.cmds.length === 0 && pipe.decl.length === 0 && context === 'command') this.error(`missing value for command`, t);
        if (pipe.decl.length && pipe.cmds.length === 0) this.error(`missing value for ${context}`, t);
        return pipe;
      }
      if (t.kind === 'eof') this.error('unexpected EOF', t);
      pipe.cmds.push(this.command(context, end));
      const sep = this.peekNonSpace();
      if (sep.kind === 'pipe') {
        this.next();
        const after = this.peekNonSpace();
        if (after.kind === end || after.kind === 'pipe') this.error(`missing command after |`, after);
      } else if (sep.kind !== end) this.unexpected(sep, context === 'command' ? 'command' : context);
    }
  }

  private command(context: string, end: 'right' | 'rightParen'): Command {
    const first = this.peekNonSpace();
    const cmd: Command = { args: [], pos: first.pos, line: first.line };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.peek();
      if (t.kind === 'space') {
        this.peekNonSpace();
        const n = this.peek();
        if (n.kind === end || n.kind === 'pipe') break;
        continue;
      }
      if (t.kind === end || t.kind === 'pipe') break;
      if (t.kind === 'error') this.error(t.value, t);
      this.unexpected(t, 'operand');
    }
    if (cmd.args.length === 0) this.error(`empty command`, first);
    void context;
    return cmd;
  }

  private operand(): Arg | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().kind !== 'field') return node;
    const fields: string[] = [];
    while (this.peek().kind === 'field') fields.push(this.next().value.slice(1));
    // Go folds `.A.B` and `$x.A` into a single node instead of a chain.
    if (node.type === 'field') return { ...node, ident: [...node.ident, ...fields] };
    if (node.type === 'variable') return { ...node, ident: [...node.ident, ...fields] };
    if (node.type === 'bool' || node.type === 'string' || node.type === 'number' || node.type === 'nil' || node.type === 'dot')
      this.error(`unexpected . after term ${JSON.stringify(node.type === 'string' ? node.text : node.type)}`, this.toks[this.i - 1]);
    return { type: 'chain', node, fields, pos: node.pos, line: node.line };
  }

  private term(): Arg | undefined {
    const t = this.next();
    switch (t.kind) {
      case 'identifier':
        if (!this.funcs.has(t.value)) this.error(`function "${t.value}" not defined`, t);
        return { type: 'identifier', name: t.value, pos: t.pos, line: t.line };
      case 'dot':
        return { type: 'dot', pos: t.pos, line: t.line };
      case 'nil':
        return { type: 'nil', pos: t.pos, line: t.line };
      case 'variable': {
        if (!this.vars.includes(t.value)) this.error(`undefined variable "${t.value}"`, t);
        return { type: 'variable', ident: [t.value], pos: t.pos, line: t.line };
      }
      case 'field':
        return { type: 'field', ident: [t.value.slice(1)], pos: t.pos, line: t.line };
      case 'bool':
        return { type: 'bool', value: t.value === 'true', pos: t.pos, line: t.line };
      case 'char':
      case 'number':
        return this.number(t);
      case 'leftParen': {
        const pipe = this.pipeline('parenthesized pipeline', 'rightParen');
        return { type: 'pipe', pipe, pos: t.pos, line: t.line };
      }
      case 'string':
      case 'rawString':
        return { type: 'string', value: unquote(t.value, (m) => this.error(m, t)), text: t.value, pos: t.pos, line: t.line };
    }
    this.backup();
    return undefined;
  }

  private number(t: Token): Arg {
    let text = t.value;
    if (t.kind === 'char') {
      const s = unquote('"' + text.slice(1, -1).replace(/"/g, '\\"') + '"', (m) => this.error(m, t));
      const cp = s.codePointAt(0) ?? 0;
      return { type: 'number', text, isInt: true, int: BigInt(cp), float: cp, pos: t.pos, line: t.line };
    }
    if (text.endsWith('i')) this.error(`complex numbers are not supported: ${text}`, t);
    text = text.replace(/_/g, '');
    let isInt = false;
    let int = 0n;
    try {
      const neg = text.startsWith('-');
      const body = text.replace(/^[+-]/, '');
      if (/^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|\d+)$/.test(body)) {
        const b = /^0[0-7]+$/.test(body) ? BigInt('0o' + body.slice(1)) : BigInt(body);
        int = neg ? -b : b;
        isInt = int >= -(2n ** 63n) && int < 2n ** 63n;
      }
    } catch {
      isInt = false;
    }
    const float = Number(text);
    if (!isInt && Number.isNaN(float)) this.error(`illegal number syntax: "${t.value}"`, t);
    return { type: 'number', text: t.value, isInt, int, float, pos: t.pos, line: t.line };
  }
}

function isEmpty(list: Node[]): boolean {
  return list.every((n) => n.type === 'text' && n.text.trim() === '');
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'right':
      return '"}}"';
    case 'rightParen':
      return '")"';
    case 'leftParen':
      return '"("';
    case 'pipe':
      return '"|"';
    case 'eof':
      return 'EOF';
    default:
      return JSON.stringify(t.value);
  }
}

/** Go string literal (interpreted or raw) to its value. */
export function unquote(lit: string, fail: (msg: string) => never): string {
  if (lit.startsWith('`')) return lit.slice(1, -1).replace(/\r/g, '');
  const body = lit.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
      case '"':
      case "'":
        out += e;
        break;
      case 'x': {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) fail(`invalid syntax in string ${lit}`);
        out += String.fromCharCode(parseInt(h, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const n = e === 'u' ? 4 : 8;
        const h = body.slice(i + 1, i + 1 + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) fail(`invalid syntax in string ${lit}`);
        const cp = parseInt(h, 16);
        if (cp > 0x10ffff) fail(`invalid syntax in string ${lit}`);
        out += String.fromCodePoint(cp);
        i += n;
        break;
      }
      default:
        if (e !== undefined && /[0-7]/.test(e)) {
          const o = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(o)) fail(`invalid syntax in string ${lit}`);
          out += String.fromCharCode(parseInt(o, 8));
          i += 2;
          break;
        }
        fail(`invalid syntax in string ${lit}`);
    }
  }
  return out;
}
