/** Syntax tree of a parsed template, shaped like Go's text/template/parse nodes. */
export interface Pos {
  pos: number;
  line: number;
}

export type Arg =
  | ({ type: 'field'; ident: string[] } & Pos)
  | ({ type: 'variable'; ident: string[] } & Pos)
  | ({ type: 'dot' } & Pos)
  | ({ type: 'nil' } & Pos)
  | ({ type: 'bool'; value: boolean } & Pos)
  | ({ type: 'number'; text: string; isInt: boolean; int: bigint; float: number } & Pos)
  | ({ type: 'string'; value: string; text: string } & Pos)
  | ({ type: 'identifier'; name: string } & Pos)
  | ({ type: 'pipe'; pipe: Pipe } & Pos)
  | ({ type: 'chain'; node: Arg; fields: string[] } & Pos);

export interface Command extends Pos {
  args: Arg[];
}

export interface Pipe extends Pos {
  decl: string[];
  isAssign: boolean;
  cmds: Command[];
}

export type Node =
  | ({ type: 'text'; text: string } & Pos)
  | ({ type: 'action'; pipe: Pipe } & Pos)
  | ({ type: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList?: Node[] } & Pos)
  | ({ type: 'template'; name: string; pipe?: Pipe } & Pos)
  | ({ type: 'break' | 'continue' } & Pos);

/** Source text of an argument, as Go prints it in `at <...>` error contexts. */
export function argString(a: Arg): string {
  switch (a.type) {
    case 'field':
      return '.' + a.ident.join('.');
    case 'variable':
      return a.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(a.value);
    case 'number':
      return a.text;
    case 'string':
      return a.text;
    case 'identifier':
      return a.name;
    case 'pipe':
      return `(${pipeString(a.pipe)})`;
    case 'chain':
      return argString(a.node) + a.fields.map((f) => '.' + f).join('');
  }
}

export function commandString(c: Command): string {
  return c.args.map(argString).join(' ');
}

export function pipeString(p: Pipe): string {
  const decl = p.decl.length ? `${p.decl.join(', ')} ${p.isAssign ? '=' : ':='} ` : '';
  return decl + p.cmds.map(commandString).join(' | ');
}
