import { describe, expect, it } from 'vitest';
import { parseExpr, PromQLError, MAX_EXPR_LENGTH } from '../../src/promql/index.js';

function parseFails(expr: string): PromQLError {
  try {
    parseExpr(expr);
  } catch (err) {
    expect(err).toBeInstanceOf(PromQLError);
    expect((err as PromQLError).type).toBe('bad_data');
    return err as PromQLError;
  }
  throw new Error(`expected ${JSON.stringify(expr)} to fail`);
}

describe('parseExpr', () => {
  it('builds a typed AST with precedence and modifiers', () => {
    const e = parseExpr('sum by (job) (rate(http_requests_total{status=~"5.."}[5m] offset 1m)) / 2 ^ 3');
    expect(e.type).toBe('BinaryExpr');
    if (e.type !== 'BinaryExpr') return;
    expect(e.op).toBe('/');
    expect(e.rhs.type).toBe('BinaryExpr');
    expect(e.lhs.type).toBe('AggregateExpr');
    if (e.lhs.type !== 'AggregateExpr') return;
    expect(e.lhs.grouping).toEqual(['job']);
    const call = e.lhs.expr;
    expect(call.type === 'Call' && call.func).toBe('rate');
    if (call.type !== 'Call' || call.args[0].type !== 'MatrixSelector') throw new Error('shape');
    expect(call.args[0].rangeMs).toBe(300_000);
    expect(call.args[0].vector.offsetMs).toBe(60_000);
    expect(call.args[0].vector.matchers).toEqual([
      { type: '=', name: '__name__', value: 'http_requests_total' },
      { type: '=~', name: 'status', value: '5..' },
    ]);
  });

  it('binds offset and @ to the nearest operand, not the whole binary expression', () => {
    const e = parseExpr('a + b offset 1m @ 100');
    if (e.type !== 'BinaryExpr' || e.lhs.type !== 'VectorSelector' || e.rhs.type !== 'VectorSelector') throw new Error('shape');
    expect(e.lhs.offsetMs).toBe(0);
    expect(e.rhs.offsetMs).toBe(60_000);
    expect(e.rhs.at).toEqual({ kind: 'time', ms: 100_000 });
  });

  it('reads vector matching clauses', () => {
    const e = parseExpr('a * on(x) group_left(y) b');
    if (e.type !== 'BinaryExpr') throw new Error('shape');
    expect(e.matching).toEqual({ card: 'many-to-one', on: true, labels: ['x'], include: ['y'] });
  });

  it('applies a leading sign after ^ (unary minus binds looser than ^)', () => {
    for (const src of ['-2 ^ 2', '- 2 ^ 2', '-2^2']) {
      const e = parseExpr(src);
      if (e.type !== 'UnaryExpr' || e.expr.type !== 'BinaryExpr') throw new Error(`shape of ${src}: ${e.type}`);
      expect(e.op).toBe('-');
      expect(e.expr.op).toBe('^');
      expect(e.expr.lhs).toMatchObject({ type: 'NumberLiteral', value: 2 });
    }
    // Parenthesised, the sign stays with the base.
    const p = parseExpr('(-2) ^ 2');
    expect(p.type).toBe('BinaryExpr');
    // Elsewhere a signed literal is still one number.
    expect(parseExpr('-2 * 3')).toMatchObject({ type: 'BinaryExpr', lhs: { type: 'NumberLiteral', value: -2 } });
  });

  it('accepts matching modifiers without labels next to a scalar, as Prometheus does', () => {
    for (const src of ['a / on() group_left scalar(b)', 'a / ignoring() 2', 'a + on() group_left(job) 2', '1 + on() 2', '2 * on() group_right a']) {
      const e = parseExpr(src);
      if (e.type !== 'BinaryExpr') throw new Error(`shape of ${src}`);
      expect(e.matching, src).toBeUndefined();
    }
  });

  it.each([
    ['a / on(job) 2', 'vector matching only allowed between instant vectors'],
    ['2 - ignoring(x) group_right a', 'vector matching only allowed between instant vectors'],
    ['a and on() 1', 'set operator "and" not allowed in binary scalar expression'],
    ['sum(foo', 'unexpected end of input'],
    ['foo{', 'parse error'],
    ['rate(foo)', 'expected type range vector in call to function "rate", got instant vector'],
    ['nosuchfn(foo)', 'unknown function with name "nosuchfn"'],
    ['rate(foo[5m], 1)', 'expected 1 argument(s) in call to "rate", got 2'],
    ['label_join(foo)', 'expected at least 3 argument(s)'],
    ['round(foo, 1, 2)', 'expected at most 2 argument(s)'],
    ['sum(foo[5m])', 'expected type instant vector in aggregation expression, got range vector'],
    ['topk(foo)', 'wrong number of arguments for aggregate expression'],
    ['1 > 2', 'comparisons between scalars must use BOOL modifier'],
    ['foo + bool bar', 'bool modifier can only be used on comparison operators'],
    ['1 and foo', 'set operator "and" not allowed in binary scalar expression'],
    ['foo and on(a) group_left bar', 'no grouping allowed for "and" operation'],
    ['{}', 'vector selector must contain at least one non-empty matcher'],
    ['{a=~".*"}', 'vector selector must contain at least one non-empty matcher'],
    ['foo{__name__="bar"}', 'metric name must not be set twice'],
    ['(foo)[5m]', 'ranges only allowed for vector selectors'],
    ['foo offset 1m offset 2m', 'offset may not be set multiple times'],
    ['sum(foo) offset 1m', 'offset modifier must be preceded by an instant vector selector'],
    ['-foo[5m]', 'unary expression only allowed on expressions of type scalar or instant vector'],
    ['a + b[5m]', 'binary expression must contain only scalar and instant vector types'],
    ['foo[5m][1m:]', 'subquery is only allowed on instant vector'],
    ['foo{a=~"(a"}', 'error parsing regexp'],
    ['"abc', 'parse error'],
    ['foo[0s]', 'range must be greater than 0'],
  ])('rejects %s', (expr, message) => {
    const err = parseFails(expr);
    expect(err.message).toContain(message);
    expect(err.message).toMatch(/^\d+:\d+: parse error: /);
    expect(err.position).toBeGreaterThanOrEqual(0);
  });

  it('names the position of the error', () => {
    const err = parseFails('sum(rate(foo[5m])) + rate(bar)');
    expect(err.message.startsWith('1:27:')).toBe(true);
    expect(err.position).toBe(26);
  });

  it('rejects deep nesting with a clear error instead of overflowing the stack', () => {
    const err = parseFails('('.repeat(5000) + '1' + ')'.repeat(5000));
    expect(err.message).toMatch(/nesting too deep/);
    const chain = parseFails(Array.from({ length: 3000 }, () => 'foo').join(' + '));
    expect(chain.message).toMatch(/nesting too deep/);
  });

  it('gives the same error when the caller has already used much of the stack', () => {
    const deep = (n: number): Error => (n > 0 ? deep(n - 1) : parseFails('('.repeat(5000) + '1' + ')'.repeat(5000)));
    expect(deep(2000).message).toMatch(/nesting too deep/);
  });

  it('rejects oversized expressions', () => {
    const err = parseFails('foo or '.repeat(MAX_EXPR_LENGTH / 7 + 1) + 'foo');
    expect(err.message).toMatch(/expression too long/);
  });

  it('accepts what RE2 accepts and refuses lookaround and backreferences with Go\'s message', () => {
    for (const re of ['(a+)+b', '(a*)*b', '(a|aa)+b', '(.*a){20}', '((ab)*)+', '5..', 'api|web', '.*foo.*', '(?i)prod.*', '(?i:PRO).*', '[a-z]+', '(foo|bar)']) {
      expect(() => parseExpr(`x{a=~"${re}"}`)).not.toThrow();
    }
    expect(parseFails('{a=~"(?=x)"}').message).toBe('1:2: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?=`');
    expect(parseFails('{a!~"x(?<!y)"}').message).toBe('1:2: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?<`');
    expect(parseFails('{a=~"(x)\\\\1"}').message).toBe('1:2: parse error: error parsing regexp: invalid escape sequence: `\\1`');
  });

  it('never throws anything but PromQLError on junk input', () => {
    const junk = ['', ' ', ')', '{{', 'sum by', '@', 'foo @ start', 'foo[5m:1m:1m]', '"\\x"', "'\\q'", '0x', '1e', 'foo{a="\u0000"}', '\uffff', 'a b c'];
    for (const j of junk) {
      try {
        parseExpr(j);
      } catch (err) {
        expect(err, j).toBeInstanceOf(PromQLError);
      }
    }
  });
});

describe('parsed expressions kept by their text', () => {
  it('the same text gives the same tree, frozen so that no query can change it for the next', () => {
    const text = 'sum by (job) (rate(http_requests_total{status=~"5.."}[5m])) > 0.1';
    const first = parseExpr(text);
    expect(parseExpr(text)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      (first as { type: string }).type = 'NumberLiteral';
    }).toThrow(TypeError);
  });

  it('long expressions are parsed afresh each time, never kept', () => {
    const text = `up{job="${'x'.repeat(5000)}"}`;
    expect(parseExpr(text)).not.toBe(parseExpr(text));
  });

  it('a text that fails to parse fails every time', () => {
    expect(() => parseExpr('sum(')).toThrow(PromQLError);
    expect(() => parseExpr('sum(')).toThrow(PromQLError);
  });
});
