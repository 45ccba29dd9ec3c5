/**
 * The one place error bodies of the HTTP surface are built. Two wire shapes
 * exist because two protocols are spoken: Prometheus's `{status, errorType,
 * error}` object for /api/v1 and Vigil's own routes, and Alertmanager's bare
 * JSON string for /api/v2 (what amtool and Grafana's Alertmanager client read).
 */
import type { FastifyReply } from 'fastify';

export type ErrorType =
  | 'bad_data'
  | 'execution'
  | 'timeout'
  | 'canceled'
  | 'internal'
  | 'unavailable'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'payload_too_large'
  | (string & {});

/** Prometheus's error object as JSON text. `extra` carries route-specific fields (e.g. a job's result). */
export function errorJson(type: ErrorType, message: string, extra?: Record<string, unknown>): string {
  return JSON.stringify({ status: 'error', errorType: type, error: message, ...extra });
}

/** Alertmanager v2's error body: the message as a JSON string. */
export function alertmanagerErrorJson(message: string): string {
  return JSON.stringify(message);
}

/** Sends Prometheus's error object with `code`. */
export function sendError(reply: FastifyReply, code: number, type: ErrorType, message: string, extra?: Record<string, unknown>): FastifyReply {
  return reply.code(code).type('application/json; charset=utf-8').send(errorJson(type, message, extra));
}

/** Routes under /api/v2 answer in Alertmanager's shape; everything else in Prometheus's. */
export function sendErrorFor(url: string, reply: FastifyReply, code: number, type: ErrorType, message: string): FastifyReply {
  if (url.startsWith('/api/v2/')) return reply.code(code).type('application/json; charset=utf-8').send(alertmanagerErrorJson(message));
  return sendError(reply, code, type, message);
}

/** errorType for a status code fastify or a plugin raised (body limit, schema, parse errors). */
export function errorTypeForStatus(status: number): ErrorType {
  if (status === 413) return 'payload_too_large';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 503) return 'unavailable';
  return status >= 500 ? 'internal' : 'bad_data';
}
