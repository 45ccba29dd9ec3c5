import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Vigil's own metrics registry. Components register their metrics on the
 * registry they are given (never prom-client's global one), so tests can make
 * fresh ones and two Vigil instances in one process do not collide.
 */
export function createSelfRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}
