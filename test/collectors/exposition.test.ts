import { describe, expect, it } from 'vitest';
import { ExpositionError, ExpositionParser, parseExposition, parseValue } from '../../src/collectors/exposition.js';

function errorOf(text: string, openMetrics = false): ExpositionError {
  try {
    parseExposition(text, { openMetrics });
  } catch (err) {
    expect(err).toBeInstanceOf(ExpositionError);
    return err as ExpositionError;
  }
  throw new Error('expected a parse error');
}

describe('exposition parser: Prometheus text 0.0.4', () => {
  it('parses HELP, TYPE, labels, escapes and timestamps', () => {
    const text = [
      '# HELP http_requests_total Total requests.\\nSecond line with \\\\ backslash.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="GET",endpoint="/api/plans",status="200"} 1027 1395066363000',
      'http_requests_total{method="POST", endpoint="/a\\"b\\\\c\\nd" , status="500",} 3',
      '# a plain comment',
      '',
      '  ',
      'active_connections 7',
      'no_labels{} 1.5e3',
    ].join('\n');
    const { samples, metadata } = parseExposition(text);
    expect(samples).toHaveLength(4);
    expect(samples[0]).toEqual({
      labels: { __name__: 'http_requests_total', method: 'GET', endpoint: '/api/plans', status: '200' },
      value: 1027,
      timestampMs: 1395066363000,
    });
    expect(samples[1].labels).toEqual({ __name__: 'http_requests_total', method: 'POST', endpoint: '/a"b\\c\nd', status: '500' });
    expect(samples[1].timestampMs).toBeUndefined();
    expect(samples[2]).toEqual({ labels: { __name__: 'active_connections' }, value: 7 });
    expect(samples[3].value).toBe(1500);
    expect(metadata.get('http_requests_total')).toEqual({
      type: 'counter',
      help: 'Total requests.\nSecond line with \\ backslash.',
    });
  });

  it('parses NaN, +Inf, -Inf and negative timestamps', () => {
    const { samples } = parseExposition('a NaN\nb +Inf\nc -Inf\nd -0.5 -1000\ne Inf\n');
    expect(samples.map((s) => s.value)).toEqual([NaN, Infinity, -Infinity, -0.5, Infinity]);
    expect(samples[3].timestampMs).toBe(-1000);
  });

  it('parses histograms and summaries', () => {
    const text = `# HELP http_request_duration_seconds Latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{method="GET",endpoint="/x",le="0.005"} 1
http_request_duration_seconds_bucket{method="GET",endpoint="/x",le="+Inf"} 4
http_request_duration_seconds_sum{method="GET",endpoint="/x"} 0.31
http_request_duration_seconds_count{method="GET",endpoint="/x"} 4
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.99"} NaN
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;
    const { samples, metadata } = parseExposition(text);
    expect(samples).toHaveLength(8);
    expect(samples[1].labels.le).toBe('+Inf');
    expect(metadata.get('http_request_duration_seconds')?.type).toBe('histogram');
    expect(metadata.get('rpc_duration_seconds')?.type).toBe('summary');
    expect(Number.isNaN(samples[5].value)).toBe(true);
  });

  it('drops empty label values like Prometheus and accepts CRLF line ends', () => {
    const { samples } = parseExposition('a{x="",y="1"} 1\r\nb 2\r\n');
    expect(samples[0].labels).toEqual({ __name__: 'a', y: '1' });
    expect(samples[1].value).toBe(2);
  });

  it('ignores exemplars', () => {
    const { samples } = parseExposition('a_bucket{le="1"} 3 # {trace_id="abc"} 0.5 1600000000.1\n');
    expect(samples[0].value).toBe(3);
  });

  it('treats "# EOF" as the end of input', () => {
    expect(parseExposition('a 1\n# EOF\n').samples).toHaveLength(1);
    expect(errorOf('a 1\n# EOF\nb 2\n').line).toBe(3);
  });
});

describe('exposition parser: OpenMetrics', () => {
  it('parses UNIT, seconds timestamps, _created and requires # EOF', () => {
    const text = `# TYPE request_duration_seconds histogram
# UNIT request_duration_seconds seconds
# HELP request_duration_seconds Latency with a \\"quote\\".
request_duration_seconds_bucket{le="0.1"} 2 1520879607.789
request_duration_seconds_bucket{le="+Inf"} 3 1520879607.789 # {trace_id="x"} 0.2 1520879607.7
request_duration_seconds_sum 0.5
request_duration_seconds_count 3
request_duration_seconds_created 1520430000.123
# TYPE jobs counter
jobs_total 5
# EOF
`;
    const { samples, metadata } = parseExposition(text, { openMetrics: true });
    expect(samples).toHaveLength(6);
    expect(samples[0].timestampMs).toBe(1520879607789);
    expect(metadata.get('request_duration_seconds')).toEqual({ type: 'histogram', unit: 'seconds', help: 'Latency with a "quote".' });
    expect(samples[5].labels.__name__).toBe('jobs_total');
  });

  it('rejects missing or non-final # EOF, empty lines and stray comments', () => {
    expect(errorOf('a 1\n', true).message).toMatch(/missing "# EOF"/);
    expect(errorOf('a 1\n# EOF\na 2\n', true).message).toMatch(/line 3: content after "# EOF"/);
    expect(errorOf('a 1\n\n# EOF\n', true).message).toMatch(/line 2: empty line/);
    expect(errorOf('# just a comment\n# EOF\n', true).message).toMatch(/line 1: invalid comment/);
    expect(errorOf('a 1 1.5.5\n# EOF\n', true).message).toMatch(/invalid timestamp/);
    expect(errorOf('# TYPE a untyped\n# EOF\n', true).message).toMatch(/invalid metric type/);
    expect(errorOf('# TYPE a_seconds gauge\n# UNIT a_seconds bytes\n# EOF\n', true).message).toMatch(/not a suffix/);
  });
});

describe('exposition parser: hostile input', () => {
  const cases: Array<[string, string, RegExp, number]> = [
    ['bad escape', 'a{b="x\\q"} 1\n', /invalid escape "\\\\q"/, 1],
    ['unterminated value', 'ok 1\na{b="x} 1\n', /unterminated value for label "b"/, 2],
    ['missing brace', 'a{b="x" 1\n', /expected "," or "}"/, 1],
    ['invalid label name', 'a{1b="x"} 1\n', /invalid label name/, 1],
    ['NaN as a bare label', 'a{NaN} 1\n', /expected "=" after label name "NaN"/, 1],
    ['NaN where a label set goes', 'a{"NaN"} 1\n', /invalid label name/, 1],
    ['unquoted label value', 'a{b=NaN} 1\n', /expected a quoted value for label "b"/, 1],
    ['duplicate label', 'a{b="1",b="2"} 1\n', /duplicate label "b"/, 1],
    ['__name__ inside braces', 'a{__name__="b"} 1\n', /__name__ is not allowed/, 1],
    ['duplicate series', 'a{b="1"} 1\nc 1\na{b="1"} 2\n', /line 3: duplicate series/, 3],
    ['duplicate series, other label order', 'a{b="1",c="2"} 1\na{c="2",b="1"} 2\n', /duplicate series/, 2],
    ['invalid value', 'a 12abc\n', /invalid value "12abc"/, 1],
    ['missing value', 'a\n', /expected a space and a value/, 1],
    ['invalid timestamp', 'a 1 12.5\n', /invalid timestamp "12.5"/, 1],
    ['trailing garbage', 'a 1 2 3\n', /unexpected text after the value/, 1],
    ['invalid metric name', '1abc 1\n', /invalid metric name/, 1],
    ['binary garbage', 'ok 1\n\u0000\u0001\u0002\ufffd\u00ff 1\n', /line 2: invalid metric name/, 2],
    ['second TYPE', '# TYPE a gauge\n# TYPE a counter\n', /second TYPE line for a/, 2],
    ['bad TYPE', '# TYPE a nonsense\n', /invalid metric type "nonsense"/, 1],
    ['UNIT in 0.0.4', '# UNIT a_bytes bytes\n', /only valid in OpenMetrics/, 1],
  ];
  for (const [name, text, re, line] of cases) {
    it(`rejects ${name} with the line number`, () => {
      const err = errorOf(text);
      expect(err.message).toMatch(re);
      expect(err.line).toBe(line);
      expect(err.message).toMatch(new RegExp(`^line ${line}: `));
    });
  }

  it('rejects huge lines without scanning them into labels', () => {
    const huge = 'a{b="' + 'x'.repeat(2_000_000) + '"} 1\n';
    expect(errorOf(huge).message).toMatch(/line 1: line too long \(2000009 characters, limit 1048576\)/);
    expect(() => parseExposition('a{b="' + 'x'.repeat(100) + '"} 1\n', { maxLineLength: 50 })).toThrow(/line too long/);
  });

  it('keeps error excerpts short and printable', () => {
    const err = errorOf('\u0000'.repeat(10_000) + ' 1\n');
    expect(err.message.length).toBeLessThan(300);
    expect(err.message).toContain('\\u0000');
  });

  it('accepts NaN as a label value and as a label name like Prometheus', () => {
    const { samples } = parseExposition('a{le="NaN",NaN="x"} NaN\n');
    expect(samples[0].labels).toEqual({ __name__: 'a', le: 'NaN', NaN: 'x' });
  });
});

describe('exposition parser: series cache across parses', () => {
  it('reuses label objects, and forgets vanished series', () => {
    const p = new ExpositionParser();
    const a = p.parse('x{a="1"} 1\nx{a="2"} 2\n');
    const b = p.parse('x{a="1"} 3\nx{a="2"} 4\n');
    expect(b.samples[0].labels).toBe(a.samples[0].labels);
    expect(b.samples.map((s) => s.value)).toEqual([3, 4]);
    // Reordered, prefixed and changed series still parse correctly.
    const c = p.parse('x{a="2"} 5\nx{a="1"}  6\nx{a="3"} 7\nx 8\n');
    expect(c.samples.map((s) => [s.labels.a, s.value])).toEqual([['2', 5], ['1', 6], ['3', 7], [undefined, 8]]);
    const d = p.parse('x{a="1"} 3\n');
    expect(d.samples).toHaveLength(1);
    // A cached series text must not match a longer metric name.
    const e = p.parse('x{a="1"} 1\nx 2\nx_total 3\n');
    expect(e.samples.map((s) => s.labels.__name__)).toEqual(['x', 'x', 'x_total']);
  });

  it('still detects duplicates on cached series and errors on a line that reuses a cached prefix badly', () => {
    const p = new ExpositionParser();
    p.parse('a{b="1"} 1\n');
    expect(() => p.parse('a{b="1"} 1\na{b="1"} 1\n')).toThrow(/line 2: duplicate series/);
    expect(() => p.parse('a{b="1"}x 1\n')).toThrow(ExpositionError);
    expect(p.parse('a{b="1"} 9\n').samples[0].value).toBe(9);
  });

  it('parseValue follows Go float syntax', () => {
    expect(parseValue('1e3')).toBe(1000);
    expect(parseValue('-Inf')).toBe(-Infinity);
    expect(parseValue('+inf')).toBe(Infinity);
    expect(parseValue('')).toBeNaN();
  });
});

describe('exposition parser: backfill files', () => {
  it('accepts one series at several timestamps, rejects the same timestamp twice', () => {
    const text = '# TYPE a gauge\na{x="1"} 1 1700000000\na{x="1"} 2 1700000015\na{x="1"} 3 1700000030\n# EOF\n';
    const opts = { openMetrics: true, allowRepeatedSeries: true };
    expect(parseExposition(text, opts).samples.map((s) => s.timestampMs)).toEqual([1700000000000, 1700000015000, 1700000030000]);
    expect(() => parseExposition('a 1 1000\na 2 1000\n', { allowRepeatedSeries: true })).toThrow(/line 2: duplicate series "a" at timestamp 1000/);
  });
});

describe('exposition parser: repeated series option and sample lines', () => {
  it('rejects any repeat by default, even at another timestamp', () => {
    expect(() => parseExposition('a 1 1000\na 2 2000\n')).toThrow(/line 2: duplicate series "a" at timestamp 2000/);
    expect(() => new ExpositionParser().parse('a 1 1000\na 2 2000\n')).toThrow(/line 2: duplicate series/);
  });

  it('with allowRepeatedSeries, rejects a timestamp seen earlier even out of order, and a repeat without timestamp', () => {
    const opts = { allowRepeatedSeries: true };
    const ok = parseExposition('a{x="1"} 1 3000\na{x="1"} 2 1000\na{x="1"} 3 2000\n', opts);
    expect(ok.samples.map((s) => s.timestampMs)).toEqual([3000, 1000, 2000]);
    expect(ok.samples[0].labels).toBe(ok.samples[2].labels);
    expect(() => parseExposition('a 1 3000\na 2 1000\na 3 2000\na 4 1000\n', opts)).toThrow(/line 4: duplicate series "a" at timestamp 1000/);
    expect(() => parseExposition('a 1\na 2\n', opts)).toThrow(/line 2: duplicate series "a"$/);
    expect(() => parseExposition('a{b="1",c="2"} 1 5\na{c="2",b="1"} 2 5\n', opts)).toThrow(/line 2: duplicate series/);
    // A kept parser starts each parse afresh.
    const p = new ExpositionParser();
    expect(p.parse('a 1 1000\na 2 2000\n', opts).samples).toHaveLength(2);
    expect(p.parse('a 1 1000\na 2 2000\n', opts).samples).toHaveLength(2);
  });

  it('returns the input line of every sample on request', () => {
    const text = '# TYPE a gauge\na 1\n\n# comment\n  b 2\nc{x="1"} 3\n';
    expect(parseExposition(text, { sampleLines: true }).lines).toEqual([2, 5, 6]);
    expect(parseExposition(text).lines).toBeUndefined();
  });
});

describe('exposition parser: label sets', () => {
  it('keeps a label called __proto__ as a label', () => {
    for (const parse of [(t: string) => parseExposition(t), (t: string) => new ExpositionParser().parse(t)]) {
      const { samples } = parse('a{__proto__="x",b="y"} 1\n');
      expect(Object.keys(samples[0].labels)).toEqual(['__name__', '__proto__', 'b']);
      expect(Object.getPrototypeOf(samples[0].labels)).toBe(Object.prototype);
    }
  });

  it('rejects a label name given twice even when one value is empty', () => {
    expect(() => parseExposition('a{b="",b="1"} 1\n')).toThrow(/line 1: duplicate label "b"/);
    const many = Array.from({ length: 40 }, (_, i) => `l${i}="v"`).join(',');
    expect(() => parseExposition(`a{${many},l7="w"} 1\n`)).toThrow(/line 1: duplicate label "l7"/);
    expect(() => parseExposition(`a{${many},__name__="w"} 1\n`)).toThrow(/__name__ is not allowed/);
  });

  it('treats empty label values as absent when matching series', () => {
    expect(() => parseExposition('a{x=""} 1\na 2\n')).toThrow(/line 2: duplicate series/);
    const { samples } = parseExposition('a{x="",y="1"} 1\na{y="1",z="2"} 2\n');
    expect(samples.map((s) => s.labels)).toEqual([{ __name__: 'a', y: '1' }, { __name__: 'a', y: '1', z: '2' }]);
  });

  it('gives one-off, first and repeated parses the same result on a varied exposition', () => {
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const labels = [`job="j${i % 3}"`, `path="/p/${i}"`, i % 7 ? `code="${200 + (i % 4)}"` : 'code=""', i % 11 ? '' : 'esc="a\\"b\\\\c\\nd"'].filter(Boolean);
      if (i % 5 === 0) labels.reverse();
      lines.push(`m_${i % 4}{${labels.join(i % 2 ? ',' : ' , ')}} ${i % 13 ? i * 0.5 : 'NaN'}${i % 3 ? '' : ` ${1_700_000_000_000 + i}`}`);
    }
    const text = lines.join('\n') + '\n';
    const plain = (r: { samples: Array<{ labels: object; value: number; timestampMs?: number }> }) =>
      r.samples.map((s) => [{ ...s.labels }, s.value, s.timestampMs]);
    const oneOff = plain(parseExposition(text));
    const p = new ExpositionParser();
    expect(plain(p.parse(text))).toEqual(oneOff);
    expect(plain(p.parse(text))).toEqual(oneOff);
    // Reordered and partly removed: the remembered order no longer fits.
    const shuffled = lines.filter((_, i) => i % 10 !== 3).reverse().join('\n') + '\n';
    expect(plain(p.parse(shuffled))).toEqual(plain(parseExposition(shuffled)));
    expect(oneOff[11][0]).toMatchObject({ esc: 'a"b\\c\nd' });
    expect(oneOff[7][0]).not.toHaveProperty('code');
  });

  it('parses decimal values and timestamps exactly like Number()', () => {
    const vals = ['0', '-0', '1', '+5', '0.1', '.5', '1.', '123456789012345', '1234567890123456789', '3.14159265358979', '1e3', '-2.5E-3', '0x10', '1_0'];
    for (const v of vals) {
      const ref = parseValue(v);
      if (Number.isNaN(ref)) expect(() => parseExposition(`a ${v}\n`)).toThrow(/invalid value/);
      else expect(Object.is(parseExposition(`a ${v}\n`).samples[0].value, ref)).toBe(true);
    }
    // Short decimals take a fast path: it must round exactly as Number() does.
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const texts = Array.from({ length: 3000 }, (_, i) => {
      const digits = String(Math.floor(rnd() * 10 ** (1 + (i % 15))));
      const cut = Math.floor(rnd() * (digits.length + 1));
      return `${i % 2 ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`.replace(/^(-?)\.$/, '$10');
    });
    const parsed = parseExposition(texts.map((v, i) => `a{i="${i}"} ${v}`).join('\n') + '\n').samples;
    texts.forEach((v, i) => expect(parsed[i].value).toBe(Number(v)));
    expect(Object.is(parseExposition('a -0\n').samples[0].value, -0)).toBe(true);
    expect(parseExposition('a 0.1\n').samples[0].value).toBe(0.1);
    expect(parseExposition('a 1 1234567890123456\n').samples[0].timestampMs).toBe(1234567890123456);
    expect(parseExposition('a 1 1700000000.123\n# EOF\n', { openMetrics: true }).samples[0].timestampMs).toBe(1700000000123);
    expect(() => parseExposition('a 1 99999999999999999999\n')).toThrow(/timestamp out of range/);
  });
});

describe('exposition parser: kept parser copies of a first scrape', () => {
  it('keeps long and non-Latin-1 label values intact across many new series', () => {
    const values = ['plain-long-value-number-', 'ünïcødé-välue-latin1-', '日本語のラベル値-', 'emoji-😀-value-'];
    const lines = Array.from({ length: 1200 }, (_, i) => `m{v="${values[i % 4]}${i}",w="${'x'.repeat(i % 40)}"} ${i}`);
    const text = lines.join('\n') + '\n';
    const p = new ExpositionParser();
    for (let round = 0; round < 2; round++) {
      const { samples } = p.parse(text);
      samples.forEach((s, i) => {
        expect(s.labels.v).toBe(`${values[i % 4]}${i}`);
        expect(s.labels.w).toBe(i % 40 ? 'x'.repeat(i % 40) : undefined);
      });
    }
  });
});

describe('exposition parser: many label shapes', () => {
  it('builds correct label sets past the generated-shape limit and for very long label sets', () => {
    const p = new ExpositionParser();
    const lines = Array.from({ length: 700 }, (_, i) => `m${i}{a${i}="1",b="${i}"} ${i}`);
    const wide = Array.from({ length: 300 }, (_, i) => `label_${i}_${'n'.repeat(10)}="v${i}"`).join(',');
    lines.push(`wide{${wide}} 1`);
    const { samples } = p.parse(lines.join('\n') + '\n');
    samples.slice(0, 700).forEach((s, i) => expect(s.labels).toEqual({ __name__: `m${i}`, [`a${i}`]: '1', b: String(i) }));
    expect(Object.keys(samples[700].labels)).toHaveLength(301);
    expect(samples[700].labels[`label_299_${'n'.repeat(10)}`]).toBe('v299');
  });
});
