/**
 * Content negotiation of scrapes as Prometheus does it: `scrape_protocols`
 * lists the exposition formats in order of preference, turned into an Accept
 * header with falling q-values; `scrape_native_histograms` puts the protobuf
 * format first (the only one carrying native histograms) when no list is given.
 */
import type { ScrapeProtocol } from '../config/collectors.js';

const MEDIA_TYPES: Record<ScrapeProtocol, string> = {
  PrometheusProto: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
  'PrometheusText0.0.4': 'text/plain;version=0.0.4',
  'PrometheusText1.0.0': 'text/plain;version=1.0.0',
  'OpenMetricsText0.0.1': 'application/openmetrics-text;version=0.0.1',
  'OpenMetricsText1.0.0': 'application/openmetrics-text;version=1.0.0',
};

/** Prometheus's order when native histograms are scraped and no list is configured. */
export const PROTO_FIRST_PROTOCOLS: readonly ScrapeProtocol[] = ['PrometheusProto', 'OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4'];

/** The Accept header for `protocols` in order of preference (Prometheus's acceptHeader: q=0.6, 0.5, ..., then any type). */
export function acceptHeader(protocols: readonly ScrapeProtocol[]): string {
  let weight = Object.keys(MEDIA_TYPES).length + 1;
  const parts: string[] = [];
  for (const p of protocols) parts.push(`${MEDIA_TYPES[p]};q=0.${weight--}`);
  parts.push(`*/*;q=0.${weight}`);
  return parts.join(',');
}

export interface ScrapeNegotiation {
  /** Accept header to send; undefined: the default text-only header. */
  accept?: string;
  /** Native histograms are stored as such (otherwise only their classic buckets, if exposed). */
  nativeHistograms: boolean;
}

/** A job's negotiation from its own settings, else `global`'s. */
export function scrapeNegotiation(
  job: { scrape_protocols?: ScrapeProtocol[]; scrape_native_histograms?: boolean },
  global: { scrape_protocols?: ScrapeProtocol[]; scrape_native_histograms?: boolean },
): ScrapeNegotiation {
  const nativeHistograms = job.scrape_native_histograms ?? global.scrape_native_histograms ?? false;
  const protocols = job.scrape_protocols ?? global.scrape_protocols ?? (nativeHistograms ? PROTO_FIRST_PROTOCOLS : undefined);
  return { ...(protocols ? { accept: acceptHeader(protocols) } : {}), nativeHistograms };
}
