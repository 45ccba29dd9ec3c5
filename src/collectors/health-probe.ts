/**
 * HTTP health probes for the planning API's /health and /ready (seed-notes §3),
 * publishing what the blackbox exporter would (`probe_success`,
 * `probe_duration_seconds`, `probe_http_status_code`) plus one
 * `probe_dependency_up{dependency=...}` per entry of `services` in the health
 * JSON, so an alert can name the failed dependency. The dependency's error text
 * is logged, never made a label (it would make a new series per message).
 */
import type { HealthCheckConfig } from '../config/collectors.js';
import type { Logger } from '../logger.js';
import type { ParsedSample } from './exposition.js';
import { httpGet } from './http-client.js';
import type { ScrapeSource } from './scrape-loop.js';

/** Health bodies are small; anything bigger is not a health answer. */
const HEALTH_BODY_LIMIT = 1024 * 1024;
const MAX_DEPENDENCIES = 64;
const MAX_DEPENDENCY_NAME = 128;

export interface ProbeResult {
  success: boolean;
  status: number;
  durationSeconds: number;
  dependencies: Array<{ name: string; up: boolean; detail: string }>;
  reason: string;
}

const HEALTHY_WORDS = new Set(['healthy', 'ok', 'up', 'ready', 'pass', 'true']);

function dependencyUp(v: unknown): { up: boolean; detail: string } {
  if (typeof v === 'boolean') return { up: v, detail: String(v) };
  if (typeof v === 'string') return { up: HEALTHY_WORDS.has(v.trim().toLowerCase()), detail: v };
  if (v && typeof v === 'object' && 'status' in v) return dependencyUp((v as { status: unknown }).status);
  return { up: false, detail: `unrecognised dependency status ${JSON.stringify(v)?.slice(0, 100)}` };
}

/** Interprets a health response; pure, so the contract is testable without HTTP. */
export function interpretHealth(status: number, contentType: string, body: string, validCodes: number[]): Omit<ProbeResult, 'durationSeconds'> {
  const codeOk = validCodes.length ? validCodes.includes(status) : status >= 200 && status < 300;
  const dependencies: ProbeResult['dependencies'] = [];
  let reason = codeOk ? '' : `HTTP status ${status}`;
  const trimmed = body.trimStart();
  const looksJson = /json/i.test(contentType) || trimmed.startsWith('{') || trimmed.startsWith('[');
  let jsonOk = true;
  let statusOk = true;
  if (looksJson) {
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch (err) {
      jsonOk = false;
      reason = `malformed health JSON: ${(err as Error).message}`;
    }
    if (jsonOk && (doc === null || typeof doc !== 'object' || Array.isArray(doc))) {
      jsonOk = false;
      reason = 'health JSON is not an object';
    }
    if (jsonOk) {
      const services = (doc as { services?: unknown }).services;
      if (services && typeof services === 'object' && !Array.isArray(services)) {
        for (const [name, v] of Object.entries(services).slice(0, MAX_DEPENDENCIES)) {
          if (!name || name.length > MAX_DEPENDENCY_NAME) continue;
          dependencies.push({ name, ...dependencyUp(v) });
        }
      }
      const st = (doc as { status?: unknown }).status;
      if (typeof st === 'string' && !HEALTHY_WORDS.has(st.toLowerCase())) {
        statusOk = false;
        reason ||= `status "${st.slice(0, 100)}"`;
      }
    }
  }
  return { success: codeOk && jsonOk && statusOk, status, dependencies, reason };
}

export class HealthProbeSource implements ScrapeSource {
  private lastReason = '';

  constructor(
    private readonly cfg: HealthCheckConfig,
    private readonly logger: Logger,
  ) {}

  async probe(signal: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    try {
      const res = await httpGet(this.cfg.url, { ...this.cfg, signal, bodyLimit: HEALTH_BODY_LIMIT, headers: { accept: 'application/json' } });
      return { ...interpretHealth(res.status, res.contentType, res.body, this.cfg.valid_status_codes), durationSeconds: (performance.now() - started) / 1000 };
    } catch (err) {
      const reason = signal.aborted ? `timed out: ${(signal.reason as Error)?.message ?? ''}` : (err as Error).message;
      return { success: false, status: 0, dependencies: [], reason, durationSeconds: (performance.now() - started) / 1000 };
    }
  }

  async collect(signal: AbortSignal): Promise<ParsedSample[]> {
    const r = await this.probe(signal);
    const failedDeps = r.dependencies.filter((d) => !d.up);
    const reason = r.success ? '' : r.reason;
    const depReason = failedDeps.map((d) => `${d.name}: ${d.detail.slice(0, 200)}`).join('; ');
    // Log changes only: a probe failing every 10s should not flood the log.
    const summary = `${reason}|${depReason}`;
    if (summary !== this.lastReason) {
      if (reason || depReason) this.logger.warn({ url: this.cfg.url, reason, dependencies: depReason || undefined }, 'health check failing');
      else if (this.lastReason) this.logger.info({ url: this.cfg.url }, 'health check recovered');
      this.lastReason = summary;
    }
    const samples: ParsedSample[] = [
      { labels: { __name__: 'probe_success' }, value: r.success ? 1 : 0 },
      { labels: { __name__: 'probe_duration_seconds' }, value: r.durationSeconds },
      { labels: { __name__: 'probe_http_status_code' }, value: r.status },
    ];
    for (const d of r.dependencies) samples.push({ labels: { __name__: 'probe_dependency_up', dependency: d.name }, value: d.up ? 1 : 0 });
    return samples;
  }
}
