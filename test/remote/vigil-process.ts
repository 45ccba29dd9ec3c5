import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { vigilCli } from '../e2e/vigil-cli.js';
import { waitFor } from '../helpers/net.js';
import { spawnTied } from '../helpers/spawn-tied.js';

const ROOT = join(import.meta.dirname, '../..');

/** Vigil as its own process (`vigil start`), so tests can SIGKILL and restart it; it exits with the test process. */
export class VigilProcess {
  private child?: ChildProcess;
  private exited: Promise<void> = Promise.resolve();
  output = '';

  constructor(
    readonly configFile: string,
    readonly url: string,
  ) {}

  async start(): Promise<void> {
    const c = spawnTied([...vigilCli, 'start', '--config', this.configFile], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' });
    this.child = c;
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-50_000));
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    this.exited = new Promise<void>((r) => c.once('exit', () => r()));
    await waitFor(async () => {
      if (c.exitCode !== null) throw new Error(`vigil exited with ${c.exitCode}: ${this.output}`);
      const res = await fetch(`${this.url}/-/ready`).catch(() => undefined);
      return res?.ok ? true : undefined;
    }, 60_000, 100);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill(signal);
    const killer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(killer);
  }
}
