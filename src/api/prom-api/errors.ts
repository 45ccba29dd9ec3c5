import { PromQLError } from '../../promql/types.js';
import { errorJson as errorBody } from '../errors.js';

/** `errorType` values of the Prometheus HTTP API and the status code each one answers with. */
export type ApiErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'unavailable' | 'not_found';

const STATUS: Record<ApiErrorType, number> = {
  bad_data: 400,
  not_found: 404,
  execution: 422,
  // Prometheus answers 499 (client closed request) for a cancelled query.
  canceled: 499,
  internal: 500,
  timeout: 503,
  unavailable: 503,
};

export class ApiError extends Error {
  constructor(
    readonly type: ApiErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return STATUS[this.type];
  }
}

export function badParam(name: string, reason: string): ApiError {
  return new ApiError('bad_data', `invalid parameter "${name}": ${reason}`);
}

/**
 * Maps whatever a query threw to an API error. Prometheus reports its engine's
 * sample limit as an `execution` error (422), so clients see the same here.
 * Anything that is not a known query error is a bug: `internal`, and logged by the caller.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof PromQLError) {
    switch (err.type) {
      case 'bad_data':
        return badParam('query', err.message);
      case 'timeout':
        return new ApiError('timeout', err.message);
      case 'canceled':
        return new ApiError('canceled', err.message);
      case 'internal':
        return new ApiError('internal', err.message);
      case 'too_many_samples':
      case 'execution':
        return new ApiError('execution', err.message);
    }
  }
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new ApiError('execution', 'query is too deeply nested to evaluate');
  }
  return new ApiError('internal', err instanceof Error ? err.message : String(err));
}

export function errorJson(err: ApiError): string {
  return errorBody(err.type, err.message);
}
