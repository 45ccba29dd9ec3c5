/**
 * The real Alertmanager (Debian `prometheus-alertmanager`) as a test oracle:
 * one process on a free loopback port with a given configuration, clustering
 * off, storage in a temporary directory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './net.js';

export interface RunningAlertmanager {
  url: string;
  stop(): Promise<void>;
}

/** Starts Alertmanager with `config` (YAML text) and waits until /-/ready answers. `stop()` ends it and removes its directory. */
export async function startAlertmanager(bin: string, config: string): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
  writeFileSync(join(dir, 'am.yml'), config);
  const port = await freePort();
  const child = spawn(
    bin,
    [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`alertmanager exited with ${child.exitCode}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? true : undefined;
    }, 20_000, 100);
  } catch (err) {
    await stop();
    throw new Error(`alertmanager did not become ready: ${(err as Error).message}\n${stderr}`);
  }
  return { url, stop };
}
