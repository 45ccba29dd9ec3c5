import type { Matcher, MatchType } from '../../tsdb/types.js';
import { matcherPredicate } from '../../model/matchers.js';
import { compileMatcherRegex } from '../../model/regex.js';
import { StringError, isQuote, readString } from './strings.js';

/**
 * Parses a series selector (`match[]` of the series, labels and label-values
 * endpoints): `name{label="v", other=~"re", "utf8.name"!="x"}`. Errors read like
 * Prometheus's: `1:COL: parse error: …`.
 */
export function parseSeriesSelector(src: string): Matcher[] {
  let i = 0;
  const fail = (msg: string, at = i): never => {
    throw new SyntaxError(`1:${at + 1}: parse error: ${msg}`);
  };
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  const ident = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
  const labelIdent = /[a-zA-Z_][a-zA-Z0-9_]*/y;
  const matchers: Matcher[] = [];

  skipWs();
  ident.lastIndex = i;
  const name = ident.exec(src);
  if (name) {
    matchers.push({ type: '=', name: '__name__', value: name[0] });
    i = ident.lastIndex;
    skipWs();
  }
  if (src[i] === '{') {
    i++;
    skipWs();
    while (src[i] !== '}') {
      if (i >= src.length) fail('unexpected end of input inside braces');
      const labelStart = i;
      let label: string;
      if (isQuote(src[i])) {
        const tok = readQuoted(src, i, fail);
        label = tok.value;
        i = tok.end;
      } else {
        labelIdent.lastIndex = i;
        const m = labelIdent.exec(src);
        if (!m) fail(`unexpected character inside braces: ${JSON.stringify(src[i])}`);
        label = m![0];
        i = labelIdent.lastIndex;
      }
      skipWs();
      const op = /^(=~|!~|!=|=)/.exec(src.slice(i, i + 2));
      if (!op) {
        // A lone quoted string names the metric (UTF-8 metric names).
        if (isQuote(src[i - 1]) && (src[i] === ',' || src[i] === '}')) {
          matchers.push({ type: '=', name: '__name__', value: label });
        } else fail('unexpected label matcher operator');
      } else {
        i += op[0].length;
        skipWs();
        if (!isQuote(src[i])) fail('unexpected label value, expected a quoted string');
        const tok = readQuoted(src, i, fail);
        i = tok.end;
        const m: Matcher = { type: op[0] as MatchType, name: label, value: tok.value };
        if (m.type === '=~' || m.type === '!~') {
          try {
            compileMatcherRegex(m.value);
          } catch (err) {
            fail((err as Error).message, labelStart);
          }
        }
        matchers.push(m);
      }
      skipWs();
      if (src[i] === ',') {
        i++;
        skipWs();
      } else if (src[i] !== '}') fail('expected "," or "}" after label matcher');
    }
    i++;
    skipWs();
  }
  if (i < src.length) fail(`unexpected ${JSON.stringify(src.slice(i, i + 10))} after selector`);
  if (matchers.length === 0) fail('no series selector found');
  const names = matchers.filter((m) => m.name === '__name__' && m.type === '=');
  if (names.length > 1) fail('metric name must not be set twice');
  if (!matchers.some((m) => !matcherPredicate(m)(''))) {
    fail('vector selector must contain at least one non-empty matcher', 0);
  }
  return matchers;
}

function readQuoted(src: string, at: number, fail: (msg: string, at?: number) => never) {
  try {
    return readString(src, at);
  } catch (err) {
    return fail((err as Error).message, err instanceof StringError ? err.offset : at);
  }
}
