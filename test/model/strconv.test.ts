import { describe, expect, it } from 'vitest';
import { formatFloat, goQuote, parseGoFloat, tryParseGoFloat } from '../../src/model/strconv.js';
import { formatDuration, parseDuration } from '../../src/model/duration.js';
import { htmlEscape } from '../../src/model/html.js';

// Expected values were produced by Go 1.19's strconv and html/template.
describe('Go-compatible formatting', () => {
  it('formatFloat defaults to FormatFloat(f, \'f\', -1, 64)', () => {
    const cases: Array<[number, string]> = [
      [-0, '-0'],
      [0, '0'],
      [1e21, '1000000000000000000000'],
      [1.5e-7, '0.00000015'],
      [-2.5, '-2.5'],
      [NaN, 'NaN'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
    ];
    for (const [v, s] of cases) expect(formatFloat(v)).toBe(s);
    expect(formatFloat(1e6, 'g', -1)).toBe('1e+06');
    expect(formatFloat(-0, 'g', -1)).toBe('-0');
    expect(formatFloat(2.25, 'f', 1)).toBe('2.2');
  });

  it('parseGoFloat accepts and rejects what strconv.ParseFloat does', () => {
    const ok: Array<[string, number]> = [
      ['1_000', 1000],
      ['0x1Fp0', 31],
      ['0x1_Fp0', 31],
      ['0x.8p1', 1],
      ['+Inf', Infinity],
      ['infinity', Infinity],
      ['-Infinity', -Infinity],
      ['1.', 1],
      ['.5', 0.5],
      ['00012', 12],
    ];
    for (const [s, v] of ok) expect(parseGoFloat(s)).toBe(v);
    expect(parseGoFloat('NaN')).toBeNaN();
    for (const s of ['0x1F', '+nan', '-nan', 'infin', '1e', '', ' 1', '1__0']) {
      expect(() => parseGoFloat(s)).toThrow(`strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`);
      expect(tryParseGoFloat(s)).toBeUndefined();
    }
    expect(() => parseGoFloat('1e400')).toThrow('strconv.ParseFloat: parsing "1e400": value out of range');
  });

  it('goQuote is strconv.Quote', () => {
    expect(goQuote('a\x00\u00e9\u2028')).toBe('"a\\x00é\\u2028"');
    expect(goQuote('\x7f\u200b')).toBe('"\\x7f\\u200b"');
    expect(goQuote('tab\t"q"\\')).toBe('"tab\\t\\"q\\"\\\\"');
    // An invalid byte carried as a lone surrogate prints as Go prints the byte.
    expect(goQuote('\udcff')).toBe('"\\xff"');
  });

  it('htmlEscape is template.HTMLEscapeString', () => {
    expect(htmlEscape(`<a href="x">'&'</a>\0`)).toBe('&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;\uFFFD');
  });

  it('durations round-trip the Prometheus way', () => {
    expect(formatDuration(parseDuration('1h30m'))).toBe('1h30m');
    expect(formatDuration(90 * 60_000 + 500)).toBe('1h30m500ms');
    expect(formatDuration(0)).toBe('0s');
  });
});
