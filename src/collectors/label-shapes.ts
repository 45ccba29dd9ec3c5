/**
 * Builds label objects from interned names and values. Series of one family
 * share their label names in the same order; for each such name sequence a
 * small constructor is generated once, whose object literal gives every label
 * object of that sequence one hidden class and allocates it in one step (adding
 * properties one by one costs several times more on a 100k-series scrape).
 * Label names reaching here are validated identifiers ([a-zA-Z_][a-zA-Z0-9_]*),
 * and are embedded as JSON string literals regardless.
 */
import type { Labels } from '../tsdb/types.js';

type Build = (name: string, values: string[]) => Labels;

/** Distinct name sequences given a generated constructor; others are built property by property. */
const MAX_SHAPES = 512;
/** Name sequences longer than this (joined) are not cached at all: a hostile target must not fill memory with keys. */
const MAX_KEY_LENGTH = 2048;
/** Longer label sets are rare and built property by property. */
const MAX_GENERATED_LABELS = 64;

export class LabelShapes {
  private shapes = new Map<string, Build>();
  private lastNames: string[] = [];
  private last: Build | undefined;

  /** `names[0..n)` and `values[0..n)`: the non-empty labels in exposition order. */
  build(metricName: string, names: string[], values: string[], n: number): Labels {
    let b = this.last;
    if (b === undefined || this.lastNames.length !== n || !sameNames(this.lastNames, names, n)) {
      b = this.shapeOf(names, n);
      this.last = b;
      this.lastNames = names.slice(0, n);
    }
    return b(metricName, values);
  }

  private shapeOf(names: string[], n: number): Build {
    const own = names.slice(0, n);
    const key = own.join(',');
    if (key.length > MAX_KEY_LENGTH) return (metricName, values) => byProperty(metricName, own, values);
    let b = this.shapes.get(key);
    if (b !== undefined) return b;
    if (n > MAX_GENERATED_LABELS || this.shapes.size >= MAX_SHAPES || own.includes('__proto__')) {
      b = (metricName, values) => byProperty(metricName, own, values);
    } else {
      const fields = own.map((name, i) => `${JSON.stringify(name)}: v[${i}]`);
      b = new Function('m', 'v', `return { __name__: m${fields.map((f) => ', ' + f).join('')} };`) as Build;
    }
    this.shapes.set(key, b);
    return b;
  }
}

function sameNames(a: string[], b: string[], n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function byProperty(metricName: string, names: string[], values: string[]): Labels {
  const labels: Record<string, string> = { __name__: metricName };
  // defineProperty, not assignment: a label called __proto__ must stay a label.
  for (let i = 0; i < names.length; i++) Object.defineProperty(labels, names[i], { value: values[i], enumerable: true, writable: true, configurable: true });
  return labels;
}
