import type { Logger } from '../logger.js';
import type { Labels } from '../tsdb/types.js';

/**
 * What discovery hands to the scrape side, as Prometheus's targetgroup.Group:
 * targets (each at least `__address__`) sharing the group's labels. `source`
 * identifies the group within its provider; a later group with the same source
 * replaces it, and one with no targets removes it.
 */
export interface TargetGroup {
  source: string;
  targets: Labels[];
  labels: Labels;
}

/** One provider instance (one `*_sd_configs` entry). */
export interface Discoverer {
  /** Starts discovering; `emit` receives changed groups (full or partial updates). */
  start(emit: (groups: TargetGroup[]) => void): void;
  stop(): Promise<void>;
}

export interface DiscoveryContext {
  logger: Logger;
  /** Relative file paths resolve from here (the config file's directory). */
  baseDir: string;
  /** Reports a provider's failure (kept for the status and logged); undefined clears it. */
  reportError(error: string | undefined): void;
}

/** A provider that refreshes on demand too, so tests can drive it without waiting. */
export interface Refreshable {
  refresh(): Promise<void>;
}
