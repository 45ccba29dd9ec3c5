/**
 * The health contract: GET /health answers
 * `{status, timestamp, services: {name: "healthy" | "unhealthy: <error>"}, version, uptime}`,
 * 200 when every check passes and 503 otherwise. Each check has its own timeout
 * so one hung dependency cannot hang the probe.
 */
export interface HealthCheck {
  /** Key under `services` (e.g. `database`, `redis`). */
  name: string;
  /** Resolves when healthy, rejects with the reason otherwise. */
  check(signal: AbortSignal): Promise<void>;
  timeoutMs?: number;
}

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  timestamp: string;
  services: Record<string, string>;
  version: string;
  uptime: string;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 5000;

async function runCheck(c: HealthCheck, defaultTimeout: number): Promise<string> {
  const timeout = c.timeoutMs ?? defaultTimeout;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.check(controller.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new Error(`timed out after ${timeout}ms`));
        }, timeout);
      }),
    ]);
    return 'healthy';
  } catch (err) {
    // One line, bounded: the text ends up in JSON read by people and probes.
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 200);
    return `unhealthy: ${msg}`;
  } finally {
    clearTimeout(timer);
  }
}

export async function runHealthChecks(checks: readonly HealthCheck[], opts: { version: string; startedAt: number; defaultTimeoutMs?: number }): Promise<HealthReport> {
  const results = await Promise.all(checks.map((c) => runCheck(c, opts.defaultTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS)));
  const services: Record<string, string> = {};
  checks.forEach((c, i) => (services[c.name] = results[i]));
  return {
    status: results.every((r) => r === 'healthy') ? 'healthy' : 'unhealthy',
    timestamp: new Date().toISOString(),
    services,
    version: opts.version,
    uptime: formatUptime(Date.now() - opts.startedAt),
  };
}

/** Go-style duration text (`1h2m3.5s`), as the planning API's documents show uptime. */
export function formatUptime(ms: number): string {
  const h = Math.floor(ms / 3600_000);
  const m = Math.floor((ms % 3600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${Number(s.toFixed(3))}s`;
}

/** Ready-made checks for the planning API's dependencies. */
export function pgCheck(name: string, pool: { query(sql: string): Promise<unknown> }): HealthCheck {
  return { name, check: async () => void (await pool.query('SELECT 1')) };
}

export function redisCheck(name: string, client: { ping(): Promise<string> }): HealthCheck {
  return {
    name,
    check: async () => {
      const pong = await client.ping();
      if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
    },
  };
}

export function httpCheck(name: string, url: string): HealthCheck {
  return {
    name,
    check: async (signal) => {
      const res = await fetch(url, { signal });
      if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    },
  };
}

/** Fails when the process's resident memory exceeds the limit. */
export function memoryCheck(name: string, maxRssBytes: number): HealthCheck {
  return {
    name,
    check: async () => {
      const rss = process.memoryUsage.rss();
      if (rss > maxRssBytes) throw new Error(`resident memory ${Math.round(rss / 2 ** 20)}MiB exceeds ${Math.round(maxRssBytes / 2 ** 20)}MiB`);
    },
  };
}
