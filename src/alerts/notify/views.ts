/**
 * Alerts and groups as the v2 API shows them: each alert with its state
 * (active or suppressed), the silences and inhibiting alerts that mute it and
 * the receivers it routes to.
 */
import type { FiringAlert, Inhibitor } from './inhibit.js';
import { matchRoutes, type Route } from './route.js';
import { silencedBy, type Silence } from './silences.js';
import type { StoredAlert } from './types.js';

export interface AlertStatusView {
  alert: StoredAlert;
  state: 'active' | 'suppressed' | 'unprocessed';
  silencedBy: string[];
  inhibitedBy: string[];
  receivers: string[];
}

export function alertView(a: StoredAlert, o: { silences: Silence[]; firing: FiringAlert[]; inhibitor: Inhibitor; route: Route; now: number }): AlertStatusView {
  const sil = silencedBy(o.silences, a.labels, o.now);
  const inh = o.inhibitor.inhibitedBy(a.labels, a.fingerprint, o.firing);
  return {
    alert: a,
    state: sil.length || inh ? 'suppressed' : 'active',
    silencedBy: sil,
    inhibitedBy: inh ? [inh] : [],
    receivers: [...new Set(matchRoutes(o.route, a.labels).map((r) => r.opts.receiver))],
  };
}
