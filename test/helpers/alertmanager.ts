/**
 * The real Alertmanager (Debian `prometheus-alertmanager`) as a test oracle:
 * one process on a free loopback port with a given configuration, clustering
 * off, storage in a temporary directory.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from './daemon.js';

export interface RunningAlertmanager {
  url: string;
  stop(): Promise<void>;
}

/** Starts Alertmanager with `config` (YAML text) and waits until /-/ready answers. `stop()` ends it and removes its directory. */
export async function startAlertmanager(bin: string, config: string): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
  writeFileSync(join(dir, 'am.yml'), config);
  const { url, stop } = await startDaemon({
    name: 'alertmanager',
    bin,
    args: (port) => [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
    dir,
    readyTimeoutMs: 20_000,
    killAfterMs: 10_000,
  });
  return { url, stop };
}
