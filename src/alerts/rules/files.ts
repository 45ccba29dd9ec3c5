import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { compileRegex, type Regex } from '../../model/regex.js';

/** Go's filepath.Match-style wildcards (`*`, `?`, `[...]`) within one path segment. */
function segmentRegex(seg: string): Regex {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) throw new Error('syntax error in pattern');
      re += '[' + seg.slice(i + 1, end).replace(/^\^/, '^').replace(/\\/g, '\\\\') + ']';
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return compileRegex(re);
}

function glob(abs: string): string[] {
  const parts = abs.split(sep);
  let paths = [parts[0] === '' ? sep : parts[0]];
  for (const seg of parts.slice(1)) {
    if (seg === '') continue;
    const next: string[] = [];
    if (!/[*?[]/.test(seg)) {
      for (const p of paths) next.push(join(p, seg));
    } else {
      const re = segmentRegex(seg);
      for (const p of paths) {
        let names: string[] = [];
        try {
          names = readdirSync(p);
        } catch {
          continue;
        }
        for (const n of names.sort()) if (re.test(n) && !n.startsWith('.')) next.push(join(p, n));
      }
    }
    paths = next;
  }
  return paths.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * Resolves rule_files entries (paths or globs) against a base directory. Unlike
 * Prometheus, a glob that matches nothing is an error: a team that believes it
 * is covered by rules that were never loaded is worse off than one told so.
 */
export function resolveRuleFiles(patterns: readonly string[], baseDir: string): { files: string[]; errors: string[] } {
  const files: string[] = [];
  const errors: string[] = [];
  for (const p of patterns) {
    const abs = isAbsolute(p) ? p : resolve(baseDir, p);
    if (/[*?[]/.test(p)) {
      let matched: string[];
      try {
        matched = glob(abs);
      } catch (e) {
        errors.push(`${p}: invalid glob: ${(e as Error).message}`);
        continue;
      }
      if (matched.length === 0) {
        errors.push(`${p}: matches no file (looked for ${abs}; rule_files resolve against the config file's directory)`);
        continue;
      }
      for (const m of matched) if (!files.includes(m)) files.push(m);
      continue;
    }
    try {
      statSync(abs);
    } catch {
      errors.push(`${p}: no such file (looked for ${abs}; rule_files resolve against the config file's directory)`);
      continue;
    }
    if (!files.includes(abs)) files.push(abs);
  }
  return { files, errors };
}
