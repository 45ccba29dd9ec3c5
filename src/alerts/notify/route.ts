/**
 * The routing tree, with Alertmanager's semantics: options inherit from the
 * parent, an alert descends into the first matching child (and further ones
 * while `continue` is set), and a node with no matching child is itself the match.
 */
import type { AlertmanagerConfig, RouteConfig } from './config.js';
import { matchersString, matchesAll, newMatcher, parseMatchers, sortMatchers, type LabelSet, type Matcher } from './matchers.js';

export interface RouteOpts {
  receiver: string;
  /** Empty with groupByAll: group by every label. */
  groupBy: string[];
  groupByAll: boolean;
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  muteTimeIntervals: string[];
  activeTimeIntervals: string[];
}

export interface Route {
  readonly parent?: Route;
  readonly matchers: Matcher[];
  readonly continue: boolean;
  readonly opts: RouteOpts;
  readonly routes: Route[];
  /** Alertmanager's route key, e.g. `{}/{severity="critical"}`: part of every group key. */
  readonly key: string;
}

const DEFAULTS = { groupWait: 30_000, groupInterval: 5 * 60_000, repeatInterval: 4 * 3600_000 };

export function buildRoute(cfg: RouteConfig, parent?: Route): Route {
  const p: RouteOpts = parent?.opts ?? {
    receiver: '',
    groupBy: [],
    groupByAll: false,
    ...DEFAULTS,
    muteTimeIntervals: [],
    activeTimeIntervals: [],
  };
  const groupByAll = cfg.group_by ? cfg.group_by.includes('...') : p.groupByAll;
  const opts: RouteOpts = {
    receiver: cfg.receiver ?? p.receiver,
    groupBy: cfg.group_by ? (groupByAll ? [] : [...cfg.group_by]) : p.groupBy,
    groupByAll,
    groupWait: cfg.group_wait ?? p.groupWait,
    groupInterval: cfg.group_interval ?? p.groupInterval,
    repeatInterval: cfg.repeat_interval ?? p.repeatInterval,
    // Time intervals are per route, not inherited (Alertmanager does the same).
    muteTimeIntervals: cfg.mute_time_intervals,
    activeTimeIntervals: cfg.active_time_intervals,
  };
  const ms: Matcher[] = [];
  for (const [k, v] of Object.entries(cfg.match ?? {})) ms.push(newMatcher(k, '=', v));
  for (const [k, v] of Object.entries(cfg.match_re ?? {})) ms.push(newMatcher(k, '=~', v));
  for (const m of cfg.matchers ?? []) ms.push(...parseMatchers(m));
  const matchers = sortMatchers(ms);
  const key = (parent ? `${parent.key}/` : '') + matchersString(matchers);
  const route: Route = { parent, matchers, continue: cfg.continue, opts, routes: [], key };
  for (const child of cfg.routes) route.routes.push(buildRoute(child, route));
  return route;
}

export function routeTree(cfg: AlertmanagerConfig): Route {
  return buildRoute(cfg.route);
}

/** The routes an alert with these labels goes to, in tree order. */
export function matchRoutes(route: Route, labels: LabelSet): Route[] {
  if (!matchesAll(route.matchers, labels)) return [];
  const all: Route[] = [];
  for (const child of route.routes) {
    const m = matchRoutes(child, labels);
    all.push(...m);
    if (m.length && !child.continue) break;
  }
  if (all.length === 0) all.push(route);
  return all;
}

/** Group labels of an alert under a route: the group_by labels it has (all with `...`). */
export function groupLabels(route: Route, labels: LabelSet): Record<string, string> {
  if (route.opts.groupByAll) return { ...labels };
  const out: Record<string, string> = {};
  for (const l of route.opts.groupBy) if (labels[l] !== undefined && labels[l] !== '') out[l] = labels[l];
  return out;
}

/** Every route in the tree, depth first (receivers listing, tree printing). */
export function walkRoutes(route: Route, fn: (r: Route, depth: number) => void, depth = 0): void {
  fn(route, depth);
  for (const c of route.routes) walkRoutes(c, fn, depth + 1);
}
