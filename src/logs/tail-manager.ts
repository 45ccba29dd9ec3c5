import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { LogFileConfig } from '../config/logs.js';
import type { Logger } from '../logger.js';
import { readJsonState, writeFileAtomic } from '../util/atomic-file.js';
import { FileTailer, type Position, type TailSink } from './tail.js';

export interface TailManagerOptions {
  files: LogFileConfig[];
  /** positions.json: committed inode + offset per path. */
  stateFile: string;
  pollMs: number;
  maxLineBytes: number;
  sink: TailSink;
  logger: Logger;
}

/** Runs the file tailers and persists their committed positions. */
export class TailManager {
  private tailers: FileTailer[] = [];
  private positions: Record<string, Position> = {};
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();
  private stopped = true;
  /** A kick arrived while polling: poll again right away instead of after pollMs. */
  private kicked = false;
  private pollChain: Promise<void> = Promise.resolve();

  constructor(private readonly o: TailManagerOptions) {}

  async start(): Promise<void> {
    await mkdir(dirname(this.o.stateFile), { recursive: true });
    const saved = await readJsonState(this.o.stateFile);
    if (saved && typeof saved === 'object') this.positions = saved as Record<string, Position>;
    for (const f of this.o.files) {
      const path = resolve(f.path);
      const t = new FileTailer({
        path,
        service: f.service,
        startAt: f.start_at,
        maxLineBytes: this.o.maxLineBytes,
        sink: this.o.sink,
        logger: this.o.logger,
        onCommit: (pos) => {
          this.positions[path] = pos;
          this.dirty = true;
        },
      });
      const pos = this.positions[path];
      const valid = pos && Number.isInteger(pos.ino) && Number.isInteger(pos.offset) && pos.offset >= 0 ? pos : undefined;
      await t.init(valid).catch((err: unknown) => this.o.logger.warn({ err, path }, 'cannot open log file yet'));
      this.tailers.push(t);
    }
    this.stopped = false;
    // Read what is already there now, not one poll interval after start.
    this.schedule(0);
  }

  private schedule(delay = this.o.pollMs): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kicked = false;
      this.polling = this.pollOnce().finally(() => {
        this.polling = undefined;
        this.schedule(this.kicked ? 0 : this.o.pollMs);
      });
    }, delay);
  }

  /** The queue has room again: read now instead of at the next poll tick. */
  kick(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.kicked = true;
      return;
    }
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.schedule(0);
  }

  /** Polls every file once and saves positions that moved; polls never overlap (timer and callers queue up). */
  pollOnce(): Promise<void> {
    const run = this.pollChain.then(() => this.pollAll());
    this.pollChain = run.catch(() => undefined);
    return run;
  }

  private async pollAll(): Promise<void> {
    for (const t of this.tailers) {
      try {
        await t.poll();
      } catch (err) {
        this.o.logger.warn({ err }, 'log file read failed');
      }
    }
    await this.save();
  }

  async save(): Promise<void> {
    if (!this.dirty) return this.saving;
    this.dirty = false;
    const data = JSON.stringify(this.positions);
    this.saving = this.saving.then(() => writeFileAtomic(this.o.stateFile, data)).catch((err: unknown) => {
      this.dirty = true;
      this.o.logger.warn({ err }, 'could not save log file positions');
    });
    return this.saving;
  }

  /** Stops reading; call save() again after the queue has spooled its events. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    for (const t of this.tailers) await t.close();
    await this.save();
  }
}
