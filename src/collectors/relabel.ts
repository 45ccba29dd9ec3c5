/**
 * Prometheus relabeling (`relabel_configs`, `metric_relabel_configs`) with the
 * same semantics: anchored RE2-style regexes, `$1` / `${name}` expansion as in Go's
 * regexp.Expand, md5-based hashmod, empty values removing the label.
 */
import { createHash } from 'node:crypto';
import type { RelabelConfig } from '../config/collectors.js';
import { compileRegex, expandTemplate, type Regex } from '../model/regex.js';
import type { Labels } from '../tsdb/types.js';

export interface CompiledRelabel {
  readonly cfg: RelabelConfig;
  readonly re: Regex;
}

export function compileRelabel(configs: readonly RelabelConfig[]): CompiledRelabel[] {
  return configs.map((cfg) => ({ cfg, re: compileRegex(cfg.regex) }));
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Prometheus's hashmod: the low 64 bits of the md5 sum, big-endian, modulo. */
export function hashMod(value: string, modulus: number): number {
  const sum = createHash('md5').update(value).digest();
  return Number(sum.readBigUInt64BE(8) % BigInt(modulus));
}

/**
 * Applies the steps in order. Returns the new label set, or null when a step
 * dropped it. Never mutates the input.
 */
export function relabel(input: Labels, steps: readonly CompiledRelabel[]): Labels | null {
  if (steps.length === 0) return input;
  const labels: Record<string, string> = { ...input };
  for (const { cfg, re } of steps) {
    let value = '';
    if (cfg.source_labels.length) {
      value = cfg.source_labels.map((n) => labels[n] ?? '').join(cfg.separator);
    }
    switch (cfg.action) {
      case 'drop':
        if (re.test(value)) return null;
        break;
      case 'keep':
        if (!re.test(value)) return null;
        break;
      case 'dropequal':
        if (value === (labels[cfg.target_label] ?? '')) return null;
        break;
      case 'keepequal':
        if (value !== (labels[cfg.target_label] ?? '')) return null;
        break;
      case 'replace': {
        const m = re.exec(value);
        if (!m) break;
        const target = expandTemplate(cfg.target_label, m);
        if (!LABEL_NAME.test(target)) break;
        const res = expandTemplate(cfg.replacement, m);
        if (res === '') delete labels[target];
        else labels[target] = res;
        break;
      }
      case 'lowercase':
        labels[cfg.target_label] = value.toLowerCase();
        break;
      case 'uppercase':
        labels[cfg.target_label] = value.toUpperCase();
        break;
      case 'hashmod':
        labels[cfg.target_label] = String(hashMod(value, cfg.modulus));
        break;
      case 'labelmap':
        for (const name of Object.keys(labels)) {
          const m = re.exec(name);
          if (m) {
            const to = expandTemplate(cfg.replacement, m);
            if (LABEL_NAME.test(to)) labels[to] = labels[name];
          }
        }
        break;
      case 'labeldrop':
        for (const name of Object.keys(labels)) if (re.test(name)) delete labels[name];
        break;
      case 'labelkeep':
        for (const name of Object.keys(labels)) if (!re.test(name)) delete labels[name];
        break;
    }
  }
  for (const name of Object.keys(labels)) if (labels[name] === '') delete labels[name];
  return Object.keys(labels).length ? labels : null;
}
