/**
 * A real server binary (Prometheus, Alertmanager, VictoriaMetrics) as a test
 * oracle or receiver: a process that counts as started once its readiness URL
 * answers, with its stderr kept for failure messages. `daemon` can be stopped
 * and started again on the same arguments (an outage); `startDaemon` runs one
 * on a free loopback port and removes its temporary directory when stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { freePort, waitFor } from './net.js';

export interface Daemon {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The process's stderr so far (for failure messages). */
  log(): string;
}

export interface DaemonOptions {
  /** Name in error messages. */
  name: string;
  bin: string;
  args: string[];
  readyUrl: string;
  readyTimeoutMs: number;
  /** SIGKILL after this long if SIGTERM did not end it. */
  killAfterMs: number;
}

export function daemon(o: DaemonOptions): Daemon {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  return {
    async start() {
      const c = spawn(o.bin, o.args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = c;
      c.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
      exited = new Promise<void>((r) => c.once('exit', () => r()));
      await waitFor(
        async () => {
          if (c.exitCode !== null) throw new Error(`${o.name} exited with ${c.exitCode}: ${stderr}`);
          return (await fetch(o.readyUrl).catch(() => undefined))?.ok ? true : undefined;
        },
        o.readyTimeoutMs,
        100,
      );
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      const killer = setTimeout(() => c.kill('SIGKILL'), o.killAfterMs);
      await exited;
      clearTimeout(killer);
    },
    log: () => stderr,
  };
}

export interface RunningDaemon {
  url: string;
  port: number;
  log(): string;
  stop(): Promise<void>;
}

/** Starts `bin` with `args(port)` on a free port; `stop()` (or a failed start) ends it and removes `dir`. */
export async function startDaemon(o: Omit<DaemonOptions, 'args' | 'readyUrl'> & { args(port: number): string[]; dir: string }): Promise<RunningDaemon> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const d = daemon({ ...o, args: o.args(port), readyUrl: `${url}/-/ready` });
  const stop = async () => {
    await d.stop();
    rmSync(o.dir, { recursive: true, force: true });
  };
  try {
    await d.start();
  } catch (err) {
    await stop();
    throw new Error(`${o.name} did not become ready: ${(err as Error).message}\n${d.log()}`);
  }
  return { url, port, log: d.log, stop };
}
