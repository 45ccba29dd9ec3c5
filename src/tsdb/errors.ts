/** Why a sample was refused. Mirrors Prometheus' storage errors so callers can count them the same way. */
export type SampleErrorCode = 'out_of_order' | 'duplicate' | 'invalid' | 'series_limit';

export class SampleError extends Error {
  constructor(
    readonly code: SampleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SampleError';
  }
}

export function describeLabels(labels: Readonly<Record<string, string>>): string {
  const name = labels.__name__ ?? '';
  const rest = Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${rest.join(', ')}}`;
}
