const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' };

/** Go's template.HTMLEscapeString, which Prometheus's and Alertmanager's `html` template function use. */
export function htmlEscape(s: string): string {
  return s.replace(/[&<>'"\0]/g, (c) => HTML_ENTITIES[c] ?? c);
}
