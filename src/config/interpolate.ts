/**
 * `${NAME}` and `${NAME:-default}` substitution from the environment, applied to
 * the config text before YAML parsing. `$$` is a literal `$`. Only names that are
 * valid environment variable names are touched, so relabel replacements like
 * `${1}` pass through unchanged.
 */
export interface InterpolationError {
  line: number;
  message: string;
}

const PATTERN = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolateEnv(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
): { text: string; errors: InterpolationError[] } {
  const errors: InterpolationError[] = [];
  const out = text.replace(PATTERN, (match, name: string | undefined, fallback: string | undefined, offset: number) => {
    if (match === '$$') return '$';
    const value = env[name!];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    if (value === '') return '';
    const line = text.slice(0, offset).split('\n').length;
    errors.push({ line, message: `environment variable ${name} is not set (write \${${name}:-} to allow it to be empty)` });
    return '';
  });
  return { text: out, errors };
}
