import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LogEvent } from './event.js';
import type { Sink } from './sink.js';

export interface LocalFileOptions {
  path: string;
  maxSize: number;
  maxFiles: number;
}

/**
 * The embedded default sink: NDJSON documents (with `_id`) in a size-rotated
 * file under the data directory (`x.ndjson`, `x.ndjson.1` … `.N`).
 */
export class LocalFileSink implements Sink {
  readonly name = 'local-file';
  private fh?: FileHandle;
  private size = 0;

  constructor(private readonly o: LocalFileOptions) {}

  async start(): Promise<void> {
    await mkdir(dirname(this.o.path), { recursive: true });
    await this.openFile();
  }

  private async openFile(): Promise<void> {
    this.fh = await open(this.o.path, 'a');
    this.size = (await stat(this.o.path)).size;
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
    await unlink(`${this.o.path}.${this.o.maxFiles}`).catch(() => undefined);
    for (let i = this.o.maxFiles - 1; i >= 1; i--) await rename(`${this.o.path}.${i}`, `${this.o.path}.${i + 1}`).catch(() => undefined);
    await rename(this.o.path, `${this.o.path}.1`).catch(() => undefined);
    await this.openFile();
  }

  async send(events: LogEvent[]): Promise<LogEvent[]> {
    if (!this.fh) await this.start();
    if (this.size >= this.o.maxSize) await this.rotate();
    let data = '';
    // The _id goes in first so re-delivered events can be recognised downstream.
    for (const e of events) data += `{"_id":"${e.id}",${e.json.slice(1)}\n`;
    const buf = Buffer.from(data);
    await this.fh!.write(buf, 0, buf.length, null);
    this.size += buf.length;
    return [];
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}
