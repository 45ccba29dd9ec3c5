/**
 * Safe defaults for what one scrape may cost, applied when neither the job nor
 * `global` sets the limit (0 set explicitly means no limit). Prometheus has no
 * defaults here; Vigil does, because one target serving a huge or endless body,
 * or churning series, must not take the process (and its alerting) down.
 */

/** Decompressed body bytes; a 100k-series exposition is about 10 MB. */
export const DEFAULT_BODY_SIZE_LIMIT = 64 * 1024 * 1024;
/** Samples after metric relabeling. */
export const DEFAULT_SAMPLE_LIMIT = 150_000;
/** Labels per series, the metric name included. */
export const DEFAULT_LABEL_LIMIT = 64;
export const DEFAULT_LABEL_NAME_LENGTH_LIMIT = 256;
export const DEFAULT_LABEL_VALUE_LENGTH_LIMIT = 4096;

export interface ScrapeLimits {
  bodyLimit: number;
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
}

/** The limits of a job: its own, else `global`'s, else the defaults. */
export function scrapeLimits(
  job: { body_size_limit?: number; sample_limit?: number; label_limit?: number; label_name_length_limit?: number; label_value_length_limit?: number },
  global: { body_size_limit?: number; sample_limit?: number },
): ScrapeLimits {
  return {
    bodyLimit: job.body_size_limit ?? global.body_size_limit ?? DEFAULT_BODY_SIZE_LIMIT,
    sampleLimit: job.sample_limit ?? global.sample_limit ?? DEFAULT_SAMPLE_LIMIT,
    labelLimit: job.label_limit ?? DEFAULT_LABEL_LIMIT,
    labelNameLengthLimit: job.label_name_length_limit ?? DEFAULT_LABEL_NAME_LENGTH_LIMIT,
    labelValueLengthLimit: job.label_value_length_limit ?? DEFAULT_LABEL_VALUE_LENGTH_LIMIT,
  };
}
