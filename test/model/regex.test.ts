/**
 * One regex engine with RE2 semantics behind every user-supplied pattern:
 * linear time on hostile patterns, lookaround and backreferences refused with
 * Go's messages on every surface, and the V8 fast path proven equivalent.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { compileRelabel, relabel } from '../../src/collectors/relabel.js';
import { relabelConfigSchema } from '../../src/config/collectors.js';
import { parseAlertmanagerConfig } from '../../src/alerts/notify/config.js';
import { compileInhibitRules, Inhibitor } from '../../src/alerts/notify/inhibit.js';
import { fingerprint, parseMatchers } from '../../src/alerts/notify/matchers.js';
import { matchRoutes, routeTree } from '../../src/alerts/notify/route.js';
import { silencedBy, validateSilence, type Silence } from '../../src/alerts/notify/silences.js';
import { notifyFuncs } from '../../src/alerts/notify/templates.js';
import { prometheusFuncs } from '../../src/alerts/template/prometheus.js';
import { compileRegex, compileUnanchoredRegex, fastRegex, replaceAll, RegexSyntaxError } from '../../src/model/regex.js';
import { createEngine, parseExpr } from '../../src/promql/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { Slots } from '../../src/util/slots.js';
import { requireBinary } from '../helpers/services.js';

const exec = promisify(execFile);
const LONG = 'a'.repeat(30);
/** Patterns that backtrack exponentially in a backtracking engine, against 30 `a`s. */
const BOMBS = ['(a+)+b', '(a*)*b', '(a|aa)+b', '(.*a){20}b', '((a+)+)+b'];
/** Refused by RE2, with Go 1.19's messages (Prometheus 2.42 and Alertmanager 0.25). */
const REFUSED: Array<[string, string]> = [
  ['(?=a)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
  ['x(?!a)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`'],
  ['(?<=a)b', 'error parsing regexp: invalid or unsupported Perl syntax: `(?<`'],
  ['(?<!a)b', 'error parsing regexp: invalid or unsupported Perl syntax: `(?<`'],
  ['(a)\\1', 'error parsing regexp: invalid escape sequence: `\\1`'],
  ['(?P<n>a)\\k<n>', 'error parsing regexp: invalid escape sequence: `\\k`'],
];

describe('the regex engine', () => {
  it('is anchored like Prometheus and Alertmanager, unanchored for template functions', () => {
    expect(compileRegex('5..').test('503')).toBe(true);
    expect(compileRegex('5..').test('1503')).toBe(false);
    expect(compileRegex('a|b').test('ab')).toBe(false);
    expect(compileUnanchoredRegex('5..').test('x5034')).toBe(true);
    // `.` excludes only newline, as in RE2; (?s) includes it.
    expect(compileRegex('a.b').test('a\rb')).toBe(true);
    expect(compileRegex('a.b').test('a\nb')).toBe(false);
    expect(compileRegex('(?s)a.b').test('a\nb')).toBe(true);
    expect(compileRegex('(?i)prod-.*').test('PROD-eu')).toBe(true);
    // Go's anchoring quirk: `a)(b` is accepted because it is wrapped in ^(?:...)$.
    expect(compileRegex('a)(b').test('ab')).toBe(true);
  });

  it.each(REFUSED)('refuses %s with Go\'s message', (pattern, message) => {
    expect(() => compileRegex(pattern)).toThrow(RegexSyntaxError);
    expect(() => compileRegex(pattern)).toThrow(message);
    expect(() => compileUnanchoredRegex(pattern)).toThrow(message);
  });

  it('keeps Go 1.19\'s decisions where the RE2 library differs', () => {
    // `(?<name>` arrived in Go 1.22; duplicate names are allowed, the first wins.
    expect(() => compileRegex('(?<n>x)')).toThrow('error parsing regexp: invalid or unsupported Perl syntax: `(?<`');
    expect(() => compileRegex('(?P<n>x)')).not.toThrow();
    const m = compileRegex('(?P<n>a)(?P<n>b)').exec('ab');
    expect(m?.groups?.n).toBe('a');
  });

  it('answers hostile patterns at once', () => {
    for (const p of BOMBS) {
      expect(compileRegex(p).test(LONG)).toBe(false);
      expect(compileRegex(p).test('a'.repeat(100_000))).toBe(false);
      expect(compileUnanchoredRegex(p).test(LONG)).toBe(false);
    }
  });

  it('replaces like Go\'s ReplaceAllString', () => {
    expect(replaceAll(compileUnanchoredRegex('a*'), 'baaac', 'X')).toBe('XbXcX');
    expect(replaceAll(compileUnanchoredRegex('(?P<x>\\w+)@(\\w+)'), 'me@host, you@there', '$2:${x}$$')).toBe('host:me$, there:you$');
    expect(replaceAll(compileUnanchoredRegex(''), 'é😀', '-')).toBe('-é-😀-');
  });

  it('takes the V8 fast path only where it is equivalent to RE2', () => {
    expect(fastRegex('5..')).toBeDefined();
    expect(fastRegex('GET|POST|PUT')).toBeDefined();
    expect(fastRegex('.*error')).toBeDefined();
    expect(fastRegex('[a-z0-9_]+')).toBeDefined();
    // Two quantifiers, groups, flags and escapes with meaning go to RE2.
    for (const p of ['.*a.*', '(a)', '(?i)a', '\\d', 'a{2}', 'a+?', '[[:alpha:]]', '[z-a]', '^a', 'a$']) expect(fastRegex(p), p).toBeUndefined();
    // Random patterns of the fast path's grammar against random inputs: same answers as RE2.
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const atoms = ['a', 'b', 'é', '😀', '.', '[a-b]', '[^a]', '\\.', '\\-', '/', ' ', '\n'];
    const quants = ['', '', '*', '+', '?'];
    const chars = ['a', 'b', 'c', '.', '-', '\n', '\r', 'é', '😀', ' ', '/'];
    let fast = 0;
    for (let i = 0; i < 2000; i++) {
      const alts = Array.from({ length: 1 + rand(3) }, () => {
        const atomsHere = Array.from({ length: rand(4) }, () => atoms[rand(atoms.length)]);
        const q = rand(atomsHere.length + 1);
        return atomsHere.map((a, k) => (k === q ? a + quants[rand(quants.length)] : a)).join('');
      });
      const pattern = alts.join('|');
      const f = fastRegex(pattern);
      if (!f) continue;
      fast++;
      const re2 = compileUnanchoredRegex(`^(?:${pattern})$`);
      for (let j = 0; j < 20; j++) {
        const input = Array.from({ length: rand(6) }, () => chars[rand(chars.length)]).join('');
        expect(f.test(input), `${JSON.stringify(pattern)} on ${JSON.stringify(input)}`).toBe(re2.test(input));
      }
    }
    expect(fast).toBeGreaterThan(1000);
  });
});

describe('every surface uses it', () => {
  const storage = new MemoryStorage();
  storage.add({ __name__: 'x', a: LONG }, 0, 1);
  const engine = createEngine(storage);

  it('PromQL matchers and label_replace', async () => {
    for (const p of BOMBS) {
      const r = await engine.instantQuery(`count(x{a=~"${p}"}) or vector(0)`, 0);
      expect(r.value.resultType === 'vector' && r.value.result[0].v).toBe(0);
      const lr = await engine.instantQuery(`label_replace(x, "b", "$1", "a", "${p}")`, 0);
      expect(lr.value.resultType === 'vector' && lr.value.result[0].labels.b).toBeUndefined();
    }
    for (const [p, message] of REFUSED) {
      expect(() => parseExpr(`x{a=~\`${p}\`}`)).toThrow(`1:3: parse error: ${message}`);
      await expect(engine.instantQuery(`label_replace(x, "b", "$1", "a", \`${p}\`)`, 0)).rejects.toThrow(`invalid regular expression in label_replace(): ${p}`);
    }
  });

  it('relabelling', () => {
    for (const p of BOMBS) {
      const steps = compileRelabel([relabelConfigSchema.parse({ source_labels: ['a'], regex: p, action: 'drop' })]);
      expect(relabel({ a: LONG }, steps)).toEqual({ a: LONG });
    }
    for (const [p, message] of REFUSED) {
      const r = relabelConfigSchema.safeParse({ source_labels: ['a'], regex: p, target_label: 'b' });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0].message).toBe(`invalid regex ${JSON.stringify(p)}: ${message}`);
    }
  });

  const silence = (value: string): Silence => ({
    id: 's',
    matchers: [{ name: 'alertname', value, isRegex: true, isEqual: true }],
    startsAt: 0,
    endsAt: 10_000,
    createdBy: 'x',
    comment: 'y',
    updatedAt: 0,
  });

  it('silences', () => {
    for (const p of BOMBS) {
      expect(validateSilence(silence(p))).toBeUndefined();
      expect(silencedBy([silence(p)], { alertname: LONG }, 1)).toEqual([]);
    }
    for (const [p, message] of REFUSED) {
      expect(validateSilence(silence(p))).toBe(`invalid label matcher 0: invalid regular expression ${JSON.stringify(p)}: ${message}`);
    }
  });

  it('route matchers, both match_re and matchers', () => {
    for (const p of BOMBS) {
      for (const form of [`match_re: {alertname: ${yamlQuote(p)}}`, `matchers: [${yamlQuote(`alertname=~${JSON.stringify(p)}`)}]`]) {
        const cfg = parseAlertmanagerConfig(amConfig(`, routes: [{receiver: s, ${form}}]`), 'am.yml');
        expect(matchRoutes(routeTree(cfg), { alertname: LONG }).map((r) => r.opts.receiver)).toEqual(["r"]);
      }
    }
    for (const [p, message] of REFUSED) {
      expect(() => parseAlertmanagerConfig(amConfig(`, routes: [{receiver: s, match_re: {alertname: ${yamlQuote(p)}}}]`), 'am.yml')).toThrow(message);
      expect(() => parseAlertmanagerConfig(amConfig(`, routes: [{receiver: s, match_re: {alertname: ${yamlQuote(p)}}}]`), 'am.yml')).toThrow(JSON.stringify(p));
    }
  });

  it('inhibition rules', () => {
    for (const p of BOMBS) {
      const cfg = parseAlertmanagerConfig(amConfig('') + `inhibit_rules: [{source_matchers: [${yamlQuote(`alertname=~${JSON.stringify(p)}`)}], target_match_re: {alertname: ${yamlQuote(p)}}}]\n`, 'am.yml');
      const inhibitor = new Inhibitor(compileInhibitRules(cfg.inhibit_rules));
      const labels = { alertname: LONG };
      expect(inhibitor.inhibitedBy(labels, fingerprint(labels), [{ labels: { alertname: LONG + 'x' }, fingerprint: 'f' }])).toBeUndefined();
    }
    for (const [p, message] of REFUSED) {
      expect(() => parseAlertmanagerConfig(amConfig('') + `inhibit_rules: [{source_match_re: {alertname: ${yamlQuote(p)}}}]\n`, 'am.yml')).toThrow(message);
    }
  });

  it('alert and silence filters of the Alertmanager API', () => {
    for (const p of BOMBS) expect(parseMatchers(`{alertname=~"${p}"}`)[0].re?.test(LONG)).toBe(false);
    for (const [p, message] of REFUSED) expect(() => parseMatchers(`{alertname=~"${p.replace(/\\/g, '\\\\')}"}`)).toThrow(message);
  });

  it('template functions match and reReplaceAll', () => {
    const prom = prometheusFuncs();
    for (const p of BOMBS) {
      expect(notifyFuncs.match(p, LONG)).toBe(false);
      expect(prom.match(p, LONG)).toBe(false);
      expect(notifyFuncs.reReplaceAll(p, 'x', LONG)).toBe(LONG);
    }
    for (const [p, message] of REFUSED) {
      expect(() => notifyFuncs.match(p, 'a')).toThrow(message);
      expect(() => prom.reReplaceAll(p, 'x', 'a')).toThrow(message);
    }
  });
});

const promtool = requireBinary('promtool', 'prometheus');
const amtool = requireBinary('amtool', 'prometheus-alertmanager');

describe('messages match the real tools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-regex-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const patterns = [...REFUSED.map(([p]) => p), '(?<n>x)', 'a**', '(a', '[z-a]', 'x{1001}', '\\C', '(a+)+b', '(?P<n>x)', 'a)(b', '(?i)ok'];

  /** The tool's message for a pattern, or "ok". */
  const oracle = async (bin: string, args: string[], file: string, text: string, after: RegExp): Promise<string> => {
    writeFileSync(file, text);
    try {
      await exec(bin, [...args, file]);
      return 'ok';
    } catch (err) {
      const out = `${(err as { stdout: string }).stdout}${(err as { stderr: string }).stderr}`;
      return after.exec(out)?.[1] ?? out;
    }
  };

  /** The tool run on every pattern, a few at a time: each run is mostly a Go program starting up. */
  const oracles = (run: (p: string, i: number) => Promise<string>): Promise<string[]> => {
    const slots = new Slots(4);
    return Promise.all(patterns.map((p, i) => slots.run(() => run(p, i))));
  };

  it.skipIf(!promtool)('PromQL parse errors equal promtool check rules', async () => {
    const expressions = patterns.map((p) => `up{a=~\`${p}\`}`);
    const wants = await oracles((_, i) =>
      oracle(promtool!, ['check', 'rules'], join(dir, `r${i}.yml`), `groups: [{name: g, rules: [{record: r, expr: ${yamlQuote(expressions[i])}}]}]\n`, /could not parse expression: (.*)/),
    );
    for (const [i, p] of patterns.entries()) {
      const expr = expressions[i];
      const want = wants[i];
      let got = 'ok';
      try {
        parseExpr(expr);
      } catch (err) {
        got = (err as Error).message;
      }
      expect(got, p).toBe(want);
    }
  });

  it.skipIf(!amtool)('Alertmanager config errors carry amtool check-config\'s message', async () => {
    const texts = patterns.map((p) => amConfig(`, routes: [{receiver: s, match_re: {a: ${yamlQuote(p)}}}]`));
    const wants = await oracles((_, i) => oracle(amtool!, ['check-config'], join(dir, `am${i}.yml`), texts[i], /FAILED: (.*)/));
    for (const [i, p] of patterns.entries()) {
      const text = texts[i];
      const want = wants[i];
      let got = 'ok';
      try {
        parseAlertmanagerConfig(text, 'am.yml');
      } catch (err) {
        got = (err as Error).message;
      }
      if (want === 'ok') expect(got, p).toBe('ok');
      else expect(got, p).toContain(`invalid regular expression ${JSON.stringify(p)}: ${want}`);
    }
  });
});

function amConfig(extra: string): string {
  return `route: {receiver: r${extra}}\nreceivers: [{name: r}, {name: s}]\n`;
}

function yamlQuote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
