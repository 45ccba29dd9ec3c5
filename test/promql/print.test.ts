import { describe, expect, it } from 'vitest';
import { parseExpr } from '../../src/promql/parser.js';
import { exprToJson, exprToString } from '../../src/promql/print.js';

describe('PromQL printer', () => {
  it('prints numbers as strconv.FormatFloat(v, \'f\', -1, 64), as Prometheus\'s format_query and parse_query do', () => {
    expect(exprToString(parseExpr('1e20 + 0.00001 * x'))).toBe('100000000000000000000 + 0.00001 * x');
    expect(exprToString(parseExpr('-0.5'))).toBe('-0.5');
    expect(exprToJson(parseExpr('1.5e-7'))).toEqual({ type: 'numberLiteral', val: '0.00000015' });
  });

  it('prints durations as model.Duration does', () => {
    expect(exprToString(parseExpr('rate(x[90s] offset 1h30m)'))).toBe('rate(x[1m30s] offset 1h30m)');
    expect(exprToString(parseExpr('x offset -5m'))).toBe('x offset -5m');
    expect(exprToString(parseExpr('max_over_time(x[1w:1d])'))).toBe('max_over_time(x[1w:1d])');
  });
});
