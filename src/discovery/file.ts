/**
 * file_sd_configs: target groups read from YAML or JSON files matching the
 * patterns, re-read when the watched directories change and every
 * `refresh_interval` (watch events get lost on some file systems). A file that
 * cannot be read or parsed keeps its last good groups; the error names the file
 * and line.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { FileSdConfig } from '../config/discovery.js';
import { ConfigError } from '../config/errors.js';
import { parseYamlText } from '../config/yaml-file.js';
import { targetGroupListSchema } from './group-schema.js';
import type { Discoverer, DiscoveryContext, Refreshable, TargetGroup } from './types.js';

/** Larger files are refused: a target list is never this big, a log file mistaken for one may be. */
export const FILE_SD_MAX_BYTES = 16 * 1024 * 1024;

/** A file name pattern (`*` and `?` only, as in the last element of a Go filepath.Match glob). */
function patternRegex(name: string): RegExp {
  const body = name.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

export class FileDiscoverer implements Discoverer, Refreshable {
  private readonly patterns: Array<{ dir: string; re: RegExp }>;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private emit: ((groups: TargetGroup[]) => void) | undefined;
  /** Groups last read from each file, kept while the file is malformed. */
  private readonly byFile = new Map<string, number>();
  private readonly errors = new Map<string, string>();
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly cfg: FileSdConfig,
    private readonly ctx: DiscoveryContext,
  ) {
    this.patterns = cfg.files.map((f) => {
      const abs = isAbsolute(f) ? f : resolve(ctx.baseDir, f);
      return { dir: dirname(abs), re: patternRegex(basename(abs)) };
    });
  }

  start(emit: (groups: TargetGroup[]) => void): void {
    this.emit = emit;
    for (const dir of new Set(this.patterns.map((p) => p.dir))) {
      try {
        const w = watch(dir, { persistent: false }, () => this.scheduleRefresh());
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch (err) {
        this.ctx.logger.warn({ dir, err: (err as Error).message }, 'cannot watch directory for file_sd; relying on refresh_interval');
      }
    }
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.cfg.refresh_interval);
    this.timer.unref();
  }

  /** Editors write in several steps; one read after the burst is enough. */
  private scheduleRefresh(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.refresh(), 50);
    this.debounce.unref();
  }

  /** Re-reads every matching file now. */
  async refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.readAll();
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async listFiles(): Promise<string[]> {
    const out = new Set<string>();
    for (const { dir, re } of this.patterns) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (re.test(n)) out.add(join(dir, n));
    }
    return [...out];
  }

  private async readAll(): Promise<void> {
    const files = await this.listFiles();
    const updates: TargetGroup[] = [];
    for (const file of files) {
      const r = await this.readFileGroups(file);
      if ('error' in r) {
        this.errors.set(file, r.error);
        continue;
      }
      this.errors.delete(file);
      const before = this.byFile.get(file) ?? 0;
      updates.push(...r.groups);
      for (let i = r.groups.length; i < before; i++) updates.push({ source: `${file}:${i}`, targets: [], labels: {} });
      this.byFile.set(file, r.groups.length);
    }
    // Files that were deleted end their targets.
    const present = new Set(files);
    for (const [file, n] of this.byFile) {
      if (present.has(file)) continue;
      for (let i = 0; i < n; i++) updates.push({ source: `${file}:${i}`, targets: [], labels: {} });
      this.byFile.delete(file);
      this.errors.delete(file);
    }
    const errs = [...this.errors.values()];
    this.ctx.reportError(errs.length ? errs.join('; ') : undefined);
    for (const e of errs) this.ctx.logger.error({ error: e }, 'file_sd: keeping the last good targets');
    if (!this.stopped) this.emit?.(updates);
  }

  private async readFileGroups(file: string): Promise<{ groups: TargetGroup[] } | { error: string }> {
    let text: string;
    try {
      const st = await stat(file);
      if (st.size > FILE_SD_MAX_BYTES) return { error: `${file}: file is larger than ${FILE_SD_MAX_BYTES} bytes` };
      text = await readFile(file, 'utf8');
    } catch (err) {
      return { error: `${file}: cannot read: ${(err as Error).message}` };
    }
    try {
      const list = text.trim() === '' ? [] : parseYamlText(text, file, targetGroupListSchema, { interpolate: false });
      return {
        groups: list.map((g, i) => ({
          source: `${file}:${i}`,
          targets: g.targets.map((t) => ({ __address__: t })),
          labels: { ...g.labels, __meta_filepath: file },
        })),
      };
    } catch (err) {
      if (err instanceof ConfigError) {
        return { error: err.issues.map((i) => `${file}:${i.line ?? 0}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ') };
      }
      return { error: `${file}: ${(err as Error).message}` };
    }
  }

  /** Reads every matching file once and returns the problems, as `vigil check config` reports them. */
  async check(): Promise<string[]> {
    const problems: string[] = [];
    for (const file of await this.listFiles()) {
      const r = await this.readFileGroups(file);
      if ('error' in r) problems.push(r.error);
    }
    return problems;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    for (const w of this.watchers) w.close();
    await this.running;
  }
}
