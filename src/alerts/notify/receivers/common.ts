import { NotifyError, parseRetryAfter } from '../types.js';

/** Escapes text for Slack mrkdwn (Slack's own three entities). */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Maps an HTTP status to retry semantics: 429 and 5xx retry, other 4xx are permanent. */
export function httpError(what: string, status: number, retryAfter?: string | string[] | null): NotifyError {
  const retry = status === 429 || status >= 500;
  return new NotifyError(`${what}: unexpected status code ${status}`, retry, status === 429 ? parseRetryAfter(retryAfter ?? undefined) : undefined);
}

/** Only the scheme, host and path's first segment: enough to debug, never a token in the path or query. */
export function redactUrl(u: string): string {
  try {
    const x = new URL(u);
    return `${x.protocol}//${x.host}/<redacted>`;
  } catch {
    return '<invalid url>';
  }
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
