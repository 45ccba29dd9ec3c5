export interface ConfigIssue {
  /** Dotted path with indices, e.g. `scrape_configs[2].targets[0]`. */
  path: string;
  message: string;
  line?: number;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `invalid configuration in ${file}:\n` +
        issues.map((i) => `  ${i.line ? `line ${i.line}: ` : ''}${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
