import { describe, expect, it } from 'vitest';
import { compileTemplate, renderTemplate, renderTemplateAsync, sprintf, TemplateError } from '../../../src/alerts/template/index.js';
import {
  alertTemplateData,
  expandAlertTemplate,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizeTimestamp,
  prometheusFuncs,
} from '../../../src/alerts/template/prometheus.js';

const funcs = prometheusFuncs({ externalUrl: 'https://vigil.example.com/prefix' });
const r = (t: string, data: unknown = {}) => renderTemplate(t, data, funcs, 'test');

describe('Go text/template syntax', () => {
  it('actions, pipelines, variables, if/else if/else, with, range', () => {
    const d = { Labels: { b: '2', a: '1' }, Items: ['x', 'y'], N: 3n, Empty: [] };
    expect(r('{{ .Labels.a }}-{{ .Labels.missing }}', d)).toBe('1-<no value>');
    expect(r('{{ $x := .Labels.a }}{{ $x }}{{ $x = "z" }}{{ $x }}', d)).toBe('1z');
    expect(r('{{ if eq .Labels.a "2" }}two{{ else if eq .Labels.a "1" }}one{{ else }}?{{ end }}', d)).toBe('one');
    expect(r('{{ with .Labels.b }}b={{ . }}{{ else }}none{{ end }}{{ with .Labels.zz }}{{ . }}{{ else }}none{{ end }}', d)).toBe('b=2none');
    expect(r('{{ range $i, $v := .Items }}{{ $i }}:{{ $v }} {{ end }}', d)).toBe('0:x 1:y ');
    expect(r('{{ range $k, $v := .Labels }}{{ $k }}={{ $v }},{{ end }}', d)).toBe('a=1,b=2,');
    expect(r('{{ range .Empty }}x{{ else }}empty{{ end }}', d)).toBe('empty');
    expect(r('{{ range .Items }}{{ if eq . "y" }}{{ break }}{{ end }}{{ . }}{{ end }}', d)).toBe('x');
    expect(r('{{- "  a  " -}}   {{ "b" }}')).toBe('  a  b');
    expect(r('a{{/* comment */}}b')).toBe('ab');
    expect(r('{{ "x" | printf "%s-%s" "y" }}')).toBe('y-x');
    expect(r('{{ (len .Items) }} {{ index .Labels "a" }} {{ index .Items 1 }}', d)).toBe('2 1 y');
  });

  it('define, template, block', () => {
    expect(r('{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" "v" }}')).toBe('[v]');
    expect(r('{{ block "b" . }}default {{ .X }}{{ end }}', { X: 1n })).toBe('default 1');
  });

  it('comparisons and logic follow Go (no mixing int and float)', () => {
    expect(r('{{ lt 1 2 }} {{ ge 2.5 2.5 }} {{ ne "a" "b" }} {{ and 1 0 }} {{ or 0 "x" }} {{ not "" }}')).toBe('true true true 0 x true');
    expect(() => r('{{ gt 1.5 1 }}')).toThrow(/error calling gt: incompatible types for comparison/);
  });

  it('print, printf, println with Go verbs; html, js, urlquery', () => {
    expect(r('{{ printf "%.2f|%d|%s|%q|%v|%5.1f|%-4s|%x" 3.14159 42 "s" "q\\"" 1e6 2.25 "ab" 255 }}')).toBe('3.14|42|s|"q\\""|1e+06|  2.2|ab  |ff');
    expect(r('{{ printf "%d" 1.5 }}')).toBe('%!d(float64=1.5)');
    expect(r('{{ printf "%s %s" "a" }}')).toBe('a %!s(MISSING)');
    expect(r('{{ print 1 2 "a" "b" 3 }}|{{ println "x" 1 }}')).toBe('1 2ab3|x 1\n');
    expect(r('{{ html "<a href=\'x\'>&</a>" }}')).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
    expect(r('{{ js "it\'s <b>" }}')).toBe("it\\'s \\u003Cb\\u003E");
    expect(r('{{ urlquery "a b&c" }}')).toBe('a+b%26c');
  });

  it('formats float64 as Go %v does', () => {
    const v = (x: number) => renderTemplate('{{ .V }}', { V: x });
    expect(v(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(v(1e6)).toBe('1e+06');
    expect(v(123456)).toBe('123456');
    expect(v(1234567)).toBe('1.234567e+06');
    expect(v(0.0001)).toBe('0.0001');
    expect(v(0.00001)).toBe('1e-05');
    expect(v(NaN)).toBe('NaN');
    expect(v(-Infinity)).toBe('-Inf');
    expect(v(100)).toBe('100');
    expect(sprintf('%.4g', [123456])).toBe('1.235e+05');
    expect(sprintf('%.4g', [0.5])).toBe('0.5');
    expect(sprintf('%e', [1234.5])).toBe('1.234500e+03');
  });

  it('parse and execution errors use Go wording and never hang on hostile input', () => {
    expect(() => r('{{ nosuchfunc }}')).toThrow('template: test:1: function "nosuchfunc" not defined');
    expect(() => r('{{ if 1 }}x')).toThrow(/unexpected EOF/);
    expect(() => r('{{ $undefined }}')).toThrow(/undefined variable "\$undefined"/);
    expect(() => r('{{ "unterminated }}')).toThrow(TemplateError);
    expect(() => r('{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}')).toThrow(/exceeded maximum template depth/);
    expect(() => r('{{ range 100000000 }}x{{ end }}')).toThrow(/too large|exceeds/);
    expect(() => r('{{'.repeat(10_000))).toThrow(TemplateError);
  });

  it('compiles once, runs many times; async functions via renderTemplateAsync', async () => {
    const t = compileTemplate('{{ .A }}{{ up .A }}', { funcs: { up: (s: string) => s.toUpperCase() } });
    expect(t.execute({ A: 'x' })).toBe('xX');
    expect(await renderTemplateAsync('{{ slow }}', {}, { slow: async () => 'done' })).toBe('done');
    expect(() => renderTemplate('{{ slow }}', {}, { slow: async () => 'done' })).toThrow(/renderTemplateAsync/);
  });
});

describe('Prometheus template functions', () => {
  it('humanize family as Prometheus', () => {
    expect(humanize(1234567)).toBe('1.235M');
    expect(humanize(0.00123)).toBe('1.23m');
    expect(humanize(0)).toBe('0');
    expect(humanize('2048')).toBe('2.048k');
    expect(humanize1024(1048576)).toBe('1Mi');
    expect(humanize1024(1)).toBe('1');
    expect(humanizeDuration(3661)).toBe('1h 1m 1s');
    expect(humanizeDuration(90061)).toBe('1d 1h 1m 1s');
    expect(humanizeDuration(1.5)).toBe('1.5s');
    expect(humanizeDuration(0.0012)).toBe('1.2ms');
    expect(humanizeDuration(0)).toBe('0s');
    expect(r('{{ humanizePercentage 0.1234 }}')).toBe('12.34%');
    expect(humanizeTimestamp(1435065584.128)).toBe('2015-06-23 13:19:44.128 +0000 UTC');
    expect(() => humanize('abc')).toThrow('strconv.ParseFloat: parsing "abc": invalid syntax');
  });

  it('string, regex, link and URL functions', () => {
    expect(r('{{ title "hello world" }} {{ toUpper "a" }} {{ toLower "B" }}')).toBe('Hello World A b');
    expect(r('{{ reReplaceAll "(a+)b" "${1}X$1" "aab cab" }}')).toBe('aaXaa caX' + 'a');
    expect(r('{{ match "^ab" "abc" }} {{ match "^x" "abc" }}')).toBe('true false');
    expect(r('{{ stripPort "host:9090" }} {{ stripPort "[::1]:80" }} {{ stripDomain "a.b.c:90" }} {{ stripDomain "10.0.0.1:9" }}')).toBe(
      'host ::1 a:90 10.0.0.1:9',
    );
    expect(r('{{ graphLink "up == 0" }} {{ tableLink "up" }}')).toBe('/graph?g0.expr=up+%3D%3D+0&g0.tab=0 /graph?g0.expr=up&g0.tab=1');
    expect(r('{{ externalURL }} {{ pathPrefix }} {{ parseDuration "1m30s" }}')).toBe('https://vigil.example.com/prefix /prefix 90');
    expect(r('{{ with args 1 "b" }}{{ .arg0 }}{{ .arg1 }}{{ end }} {{ safeHtml "<b>" }}')).toBe('1b <b>');
    expect(r('{{ toTime 0 }}')).toBe('1970-01-01 00:00:00 +0000 UTC');
  });

  it('query, first, value, label, sortByLabel, strvalue', async () => {
    const qf = prometheusFuncs({
      query: async () => [
        { labels: { instance: 'b', __value__: 'sv' } as Record<string, string>, value: 2 },
        { labels: { instance: 'a' } as Record<string, string>, value: 1.5 },
      ],
    });
    const t = '{{ range sortByLabel "instance" (query "up") }}{{ label "instance" . }}={{ value . }} {{ end }}{{ with query "up" }}{{ . | first | value }}{{ (first .) | strvalue }}{{ end }}';
    expect(await renderTemplateAsync(t, {}, qf)).toBe('a=1.5 b=2 2sv');
    const empty = prometheusFuncs({ query: async () => [] });
    await expect(renderTemplateAsync('{{ query "x" | first }}', {}, empty)).rejects.toThrow(/first\(\) called on vector with no elements/);
  });

  it('alert expansion renders errors as Prometheus does and never throws', async () => {
    const data = alertTemplateData({ instance: 'i', job: 'j' }, { cluster: 'c' }, 'http://x', 0.1 + 0.2);
    const ok = await expandAlertTemplate('{{ $value }} {{ $labels.instance }} {{ $externalLabels.cluster }} {{ $externalURL }}', 'A', data, funcs);
    expect(ok.text).toBe('0.30000000000000004 i c http://x');
    const bad = await expandAlertTemplate('{{ .Nope }}', 'A', data, funcs);
    expect(bad.text).toMatch(/^<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <\.Nope>: can't evaluate field Nope in type struct/);
    const unparsable = await expandAlertTemplate('{{ if }}', 'A', data, funcs);
    expect(unparsable.text).toBe('<error expanding template: error parsing template __alert_A: template: __alert_A:1: missing value for if>');
  });
});
