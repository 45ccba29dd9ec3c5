import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { JobScheduler } from '../../src/jobs/scheduler.js';
import type { JobDefinition, JobRunContext } from '../../src/jobs/types.js';
import { silentLogger } from '../../src/logger.js';

function job(name: string, run: (ctx: JobRunContext) => Promise<string | void>, extra: Partial<JobDefinition> = {}): JobDefinition {
  return { name, kind: 'test', schedule: '0 2 * * *', timezone: 'UTC', catchUp: false, timeoutMs: 60_000, run, ...extra };
}

async function metric(registry: Registry, name: string, job: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.find((v) => v.labels.job_name === job)?.value;
}

describe('job scheduler', () => {
  const schedulers: JobScheduler[] = [];
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.stop();
  });
  const make = (jobs: JobDefinition[], dataDir = mkdtempSync(join(tmpdir(), 'vigil-jobs-')), registry = new Registry()) => {
    const s = new JobScheduler({ jobs, dataDir, registry, logger: silentLogger() });
    schedulers.push(s);
    return { s, dataDir, registry };
  };

  it('runs a job by hand and records its metrics', async () => {
    const { s, registry } = make([job('nightly', async (ctx) => {
      ctx.record({ size_bytes: 42 });
      return 'done';
    })]);
    await s.start();
    const r = await s.runNow('nightly');
    expect(r.status).toBe('success');
    expect(r.message).toBe('done');
    expect(await metric(registry, 'vigil_job_last_success_timestamp_seconds', 'nightly')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(await metric(registry, 'vigil_job_failures_total', 'nightly')).toBe(0);
    expect(await metric(registry, 'vigil_test_size_bytes', 'nightly')).toBe(42);
  });

  it('never runs a job twice at once', async () => {
    let release!: () => void;
    let runs = 0;
    const { s, registry } = make([job('slow', async () => {
      runs++;
      await new Promise<void>((r) => (release = r));
    })]);
    await s.start();
    const first = s.runNow('slow');
    const second = await s.runNow('slow');
    expect(second.status).toBe('already_running');
    release();
    expect((await first).status).toBe('success');
    expect(runs).toBe(1);
    const m = await registry.getSingleMetric('vigil_job_runs_total')?.get();
    expect(m?.values.find((v) => v.labels.outcome === 'skipped_overlap')?.value).toBe(1);
  });

  it('counts failures and consecutive failures, and resets them on success', async () => {
    let fail = true;
    const { s, registry } = make([job('flaky', async () => {
      if (fail) throw new Error('boom');
    })]);
    await s.start();
    expect((await s.runNow('flaky')).message).toBe('boom');
    await s.runNow('flaky');
    expect(await metric(registry, 'vigil_job_failures_total', 'flaky')).toBe(2);
    expect(await metric(registry, 'vigil_job_consecutive_failures', 'flaky')).toBe(2);
    fail = false;
    await s.runNow('flaky');
    expect(await metric(registry, 'vigil_job_consecutive_failures', 'flaky')).toBe(0);
  });

  it('aborts a run that exceeds its timeout', async () => {
    const { s } = make([job('stuck', (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))), { timeoutMs: 50 })]);
    await s.start();
    const r = await s.runNow('stuck');
    expect(r.status).toBe('failure');
    expect(r.message).toMatch(/timed out/);
  });

  it('reports an unknown job', async () => {
    const { s } = make([]);
    await s.start();
    expect((await s.runNow('nope')).status).toBe('unknown_job');
  });

  it('runs a missed run once at start-up when catch_up is set', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-jobs-'));
    mkdirSync(join(dataDir, 'jobs'));
    const twoDaysAgo = Date.now() - 2 * 24 * 3600_000;
    writeFileSync(join(dataDir, 'jobs', 'state.json'), JSON.stringify({ nightly: { firstSeen: twoDaysAgo, lastRun: twoDaysAgo, consecutiveFailures: 0 }, other: { firstSeen: twoDaysAgo, lastRun: twoDaysAgo, consecutiveFailures: 0 } }));
    const reasons: string[] = [];
    let otherRuns = 0;
    const { s } = make(
      [
        job('nightly', async (ctx) => void reasons.push(ctx.reason), { catchUp: true }),
        job('other', async () => void otherRuns++, { catchUp: false }),
      ],
      dataDir,
    );
    await s.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(reasons).toEqual(['catch-up']);
    expect(otherRuns).toBe(0);
    // The state is saved after the run returns: on a loaded machine that can be later than the wait above.
    await expect
      .poll(() => (JSON.parse(readFileSync(join(dataDir, 'jobs', 'state.json'), 'utf8')) as { nightly: { lastRun: number } }).nightly.lastRun, { timeout: 10_000 })
      .toBeGreaterThan(twoDaysAgo);
  });

  it('does not catch up when the last run is after the last scheduled time', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-jobs-'));
    mkdirSync(join(dataDir, 'jobs'));
    writeFileSync(join(dataDir, 'jobs', 'state.json'), JSON.stringify({ every: { firstSeen: Date.now() - 1000, lastRun: Date.now() - 1000, consecutiveFailures: 0 } }));
    let runs = 0;
    const { s } = make([job('every', async () => void runs++, { catchUp: true, schedule: '0 0 1 1 *' })], dataDir);
    await s.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(0);
  });

  it('keeps history across restarts and survives a corrupt state file', async () => {
    const { s, dataDir } = make([job('keep', async () => 'ok')]);
    await s.start();
    await s.runNow('keep');
    await s.stop();
    const registry = new Registry();
    const { s: s2 } = make([job('keep', async () => 'ok')], dataDir, registry);
    await s2.start();
    expect(await metric(registry, 'vigil_job_last_success_timestamp_seconds', 'keep')).toBeGreaterThan(0);
    await s2.stop();
    writeFileSync(join(dataDir, 'jobs', 'state.json'), '{not json');
    const { s: s3 } = make([job('keep', async () => 'ok')], dataDir);
    await expect(s3.start()).resolves.toBeUndefined();
    expect((await s3.runNow('keep')).status).toBe('success');
  });
});
