/**
 * Conformance cases (`file:line` of the shared Prometheus test scripts) that
 * this engine does not pass yet, each with the reason. The conformance test
 * fails on any failing case not listed here; keep this the only such list.
 */
export const KNOWN_FAILURES: ReadonlyMap<string, string> = new Map<string, string>([]);
