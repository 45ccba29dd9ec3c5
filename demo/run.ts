/**
 * `npm run demo`: the whole loop on this machine in about a minute and a half.
 * A scratch PostgreSQL database, the reference planning API (chaos routes on),
 * a Slack stand-in and an SMTP catcher that print what they receive, and Vigil
 * with short intervals and a demo copy of the documented rules. Traffic goes
 * normal -> errors and slow requests -> normal; the terminal shows the alert
 * going pending, firing, the Slack message and email arriving, and resolving.
 * Exits 0 when HighErrorRate fired, was notified and resolved; 1 otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/config/index.js';
import { startVigil, type Vigil } from '../src/main.js';
import { freePort, waitFor } from '../test/helpers/net.js';
import { startSlackStandIn, type SlackStandIn } from '../test/helpers/slack.js';
import { startSmtpStandIn, type SmtpStandIn } from '../test/helpers/smtp.js';
import { writeDemoConfig } from './config.js';
import { banner, c, log, quietLogger } from './console.js';
import { AlertWatcher } from './alerts.js';
import { Traffic } from './traffic.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PG_URL = process.env.VIGIL_DEMO_PG_URL ?? process.env.VIGIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.VIGIL_DEMO_REDIS_URL ?? process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ALERT = 'HighErrorRate';

const cleanups: Array<[string, () => Promise<unknown> | unknown]> = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const [what, fn] of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log('demo', c.red(`cleanup of ${what} failed: ${(err as Error).message}`));
      }
    }
  })();
  return cleaning;
}

async function createScratchDb(): Promise<string> {
  const name = `vigil_demo_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  const where = new URL(PG_URL);
  await admin.connect().catch((err: Error) => {
    throw new Error(`PostgreSQL is needed at ${where.host} (set VIGIL_DEMO_PG_URL): ${err.message}`);
  });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  cleanups.push([`database ${name}`, async () => {
    const a = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
    await a.connect();
    try {
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await a.end();
    }
    log('demo', `dropped scratch database ${name}`);
  }]);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  log('demo', `created scratch database ${name}`);
  return u.toString();
}

async function startPlanningApi(databaseUrl: string): Promise<{ child: ChildProcess; hostPort: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/planning-api/src/server.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL, PORT: String(port), HOST: '127.0.0.1', PLANNING_API_CHAOS: '1', PLANNING_API_REQUEST_LOG: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  cleanups.push(['planning API', async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  }]);
  const hostPort = `127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
      return (await fetch(`http://${hostPort}/ready`).catch(() => undefined))?.ok || undefined;
    }, 30_000, 200);
  } catch (err) {
    throw new Error(`planning API did not start: ${(err as Error).message}\n${output}`);
  }
  log('api', `planning API (chaos routes on) listening on http://${hostPort}, pid ${child.pid}`);
  return { child, hostPort };
}

function printSlack(body: Record<string, any>): void {
  const a = (body.attachments?.[0] ?? {}) as Record<string, any>;
  const blocks = (a.blocks ?? []) as Array<{ type: string; text?: { text: string }; elements?: Array<{ text: string }> }>;
  const header = blocks.find((b) => b.type === 'header')?.text?.text ?? '';
  const lines = blocks.filter((b) => b.type === 'section').map((b) => b.text?.text ?? '');
  const head = `${c.bold(`Slack ${body.channel ?? ''}`)}: ${a.title ?? body.text ?? ''}${header ? ` | ${header}` : ''}`;
  log('slack', c.magenta(head) + (lines.length ? `\n${indent(lines.join('\n'))}` : ''));
}

function printMail(m: SmtpStandIn['messages'][number]): void {
  log('email', `${c.magenta(c.bold(`Email to ${m.envelope.to.join(', ')}`))}: ${m.parsed.subject ?? ''}\n${indent((m.parsed.text ?? '').trim())}`);
}

const indent = (s: string) =>
  s
    .split('\n')
    .map((l) => `             | ${l}`)
    .join('\n');

async function main(): Promise<number> {
  banner('Vigil demo: planning API -> metrics -> alert rules -> Slack and email');
  const work = mkdtempSync(join(tmpdir(), 'vigil-demo-'));
  cleanups.push(['temp dir', () => rmSync(work, { recursive: true, force: true })]);

  const databaseUrl = await createScratchDb();
  const api = await startPlanningApi(databaseUrl);

  const slack: SlackStandIn = await startSlackStandIn();
  cleanups.push(['Slack stand-in', () => slack.close()]);
  slack.onReceive = printSlack;
  const smtp: SmtpStandIn = await startSmtpStandIn();
  cleanups.push(['SMTP catcher', () => smtp.close()]);
  log('demo', `Slack stand-in on ${new URL(slack.url).host}, SMTP catcher on ${smtp.smarthost}`);

  const configFile = writeDemoConfig(work, { apiHostPort: api.hostPort, databaseUrl, redisUrl: REDIS_URL, slackUrl: slack.url, smtpHostPort: smtp.smarthost });
  const vigil: Vigil = await startVigil(loadConfig(configFile), { logger: quietLogger(), listen: '127.0.0.1:0' });
  cleanups.push(['Vigil', () => vigil.stop()]);
  log('vigil', `Vigil on ${vigil.url}: scrape and evaluation every 1s, rules HighErrorRate/HighResponseTime with [30s] windows and for: 5s`);

  let mailsSeen = 0;
  const mailPoll = setInterval(() => {
    while (mailsSeen < smtp.messages.length) printMail(smtp.messages[mailsSeen++]);
  }, 100);
  cleanups.push(['mail poll', () => clearInterval(mailPoll)]);

  const watcher = new AlertWatcher(vigil.url);
  watcher.start();
  cleanups.push(['alert watcher', () => watcher.stop()]);

  const traffic = new Traffic(`http://${api.hostPort}`);
  cleanups.push(['traffic', () => traffic.stop()]);
  await waitFor(async () => {
    const r = await fetch(`${vigil.url}/api/v1/query?query=${encodeURIComponent('up{job="sical-backend"}')}`).then((x) => x.json() as Promise<any>);
    return r.data?.result?.[0]?.value?.[1] === '1' || undefined;
  }, 20_000, 250);
  log('vigil', 'first scrape of the planning API done (up{job="sical-backend"} = 1)');

  banner('Phase 1: normal traffic (plans and tasks CRUD), 12s');
  traffic.phase('normal');
  await sleep(12_000);

  banner('Phase 2: incident: HTTP 500s and 1.5s responses on top of normal traffic, 20s');
  traffic.phase('incident');
  await waitFor(() => watcher.reached(ALERT, 'firing') || undefined, 40_000, 200).catch(() => undefined);
  // Keep the incident going a little past firing so the notifications go out mid-incident.
  await sleep(Math.max(0, 20_000 - traffic.phaseMs()));

  banner('Phase 3: back to normal traffic; waiting for the alerts to resolve (the 30s window empties)');
  traffic.phase('normal');
  const resolved = await waitFor(() => (watcher.reached(ALERT, 'resolved') && slackResolved(slack) && mailResolved(smtp)) || undefined, 75_000, 250).then(
    () => true,
    () => false,
  );
  await sleep(1500);
  traffic.stop();
  while (mailsSeen < smtp.messages.length) printMail(smtp.messages[mailsSeen++]);

  const s = traffic.stats();
  banner('Summary');
  const checks: Array<[string, boolean]> = [
    [`${ALERT} went pending`, watcher.reached(ALERT, 'pending')],
    [`${ALERT} fired`, watcher.reached(ALERT, 'firing')],
    ['Slack message for the firing alert', slack.received.some((b) => !isResolved(b) && JSON.stringify(b).includes(ALERT))],
    ['email for the firing alert', smtp.messages.some((m) => (m.parsed.subject ?? '').includes(ALERT) && /^Status: FIRING/.test(m.parsed.text ?? ''))],
    [`${ALERT} resolved`, watcher.reached(ALERT, 'resolved')],
    ['resolved Slack message and email', resolved],
  ];
  for (const [what, ok] of checks) log('demo', `${ok ? c.green('ok  ') : c.red('FAIL')} ${what}`);
  log('demo', `HighResponseTime: ${['pending', 'firing', 'resolved'].filter((st) => watcher.reached('HighResponseTime', st as 'pending')).join(' -> ') || 'never active'}`);
  log('demo', `requests sent: ${s.total} (${s.errors} answered 5xx, ${s.slow} slow), Slack messages: ${slack.received.length}, emails: ${smtp.messages.length}`);
  return checks.every(([, ok]) => ok) ? 0 : 1;
}

function isResolved(b: Record<string, any>): boolean {
  const header = (b.attachments?.[0]?.blocks ?? []).find((x: { type: string }) => x.type === 'header')?.text?.text ?? '';
  return /^\[RESOLVED/.test(header);
}
const slackResolved = (s: SlackStandIn) => s.received.some((b) => isResolved(b) && JSON.stringify(b).includes(ALERT));
const mailResolved = (s: SmtpStandIn) => s.messages.some((m) => (m.parsed.subject ?? '').includes(ALERT) && /^Status: RESOLVED/.test(m.parsed.text ?? ''));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const onSignal = (sig: NodeJS.Signals) => {
  log('demo', `${sig}: cleaning up`);
  void cleanup().then(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

let code = 1;
try {
  code = await main();
} catch (err) {
  log('demo', c.red(`failed: ${(err as Error).message}`));
} finally {
  await cleanup();
}
log('demo', code === 0 ? c.green('demo finished: success') : c.red('demo finished: FAILED'));
process.exit(code);
