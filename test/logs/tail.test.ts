import { appendFile, mkdtemp, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import type { LogEvent } from '../../src/logs/event.js';
import { TailManager } from '../../src/logs/tail-manager.js';

interface Collected {
  events: LogEvent[];
  messages(): string[];
  autoAck: boolean;
  held: LogEvent[];
  push(e: LogEvent[]): void;
  accepting(): boolean;
}

function collector(autoAck = true): Collected {
  const c: Collected = {
    events: [],
    held: [],
    autoAck,
    messages: () => c.events.map((e) => (JSON.parse(e.json) as { message: string }).message),
    push(evs) {
      c.events.push(...evs);
      if (c.autoAck) for (const e of evs) e.ack?.();
      else c.held.push(...evs);
    },
    accepting: () => true,
  };
  return c;
}

const line = (msg: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ timestamp: '2026-01-02T03:04:05.000Z', level: 'info', logger: 'app', caller: 'main.go:12', message: msg, ...extra }) + '\n';

describe('file tailing', () => {
  let dir: string;
  let file: string;
  let state: string;
  const managers: TailManager[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-tail-'));
    file = join(dir, 'app.log');
    state = join(dir, 'state', 'positions.json');
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function manager(sink: Collected): Promise<TailManager> {
    const m = new TailManager({
      files: [{ path: file, service: 'sical-backend', start_at: 'beginning' }],
      stateFile: state,
      pollMs: 60_000, // polled by hand
      maxLineBytes: 4096,
      sink,
      logger: silentLogger(),
    });
    await m.start();
    managers.push(m);
    return m;
  }

  it('maps JSON lines to ECS and keeps bad lines as tagged documents', async () => {
    await writeFile(file, line('hello', { method: 'get', path: '/api/plans', status: 201, latency: '1.5ms' }) + 'not json at all\n');
    const c = collector();
    const m = await manager(c);
    await m.pollOnce();
    expect(c.events).toHaveLength(2);
    const a = JSON.parse(c.events[0].json) as Record<string, any>;
    expect(a['@timestamp']).toBe('2026-01-02T03:04:05.000Z');
    expect(a.log).toMatchObject({ level: 'info', logger: 'app', origin: { file: { name: 'main.go', line: 12 } }, file: { path: file } });
    expect(a.http).toEqual({ request: { method: 'GET' }, response: { status_code: 201 } });
    expect(a.event.duration).toBe(1_500_000);
    const b = JSON.parse(c.events[1].json) as Record<string, any>;
    expect(b.message).toBe('not json at all');
    expect(b.tags).toContain('vigil_json_parse_failure');
  });

  it('holds a partial last line until its newline arrives', async () => {
    await writeFile(file, line('one') + '{"message":"par');
    const c = collector();
    const m = await manager(c);
    await m.pollOnce();
    expect(c.messages()).toEqual(['one']);
    await appendFile(file, 'tial"}\n');
    await m.pollOnce();
    expect(c.messages()).toEqual(['one', 'partial']);
  });

  it('follows rename rotation, reading the rest of the old file first', async () => {
    await writeFile(file, line('a1') + line('a2'));
    const c = collector();
    const m = await manager(c);
    await m.pollOnce();
    await appendFile(file, line('a3'));
    await rename(file, `${file}.1`);
    await appendFile(`${file}.1`, line('a4')); // the writer still had the old file open
    await writeFile(file, line('b1'));
    await m.pollOnce();
    await appendFile(file, line('b2'));
    await m.pollOnce();
    expect(c.messages()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2']);
    expect(new Set(c.events.map((e) => e.id)).size).toBe(6);
  });

  it('detects copytruncate and reads the new content from the start', async () => {
    await writeFile(file, line('old-1') + line('old-2') + line('old-3'));
    const c = collector();
    const m = await manager(c);
    await m.pollOnce();
    await truncate(file, 0);
    await appendFile(file, line('new-1'));
    await m.pollOnce();
    expect(c.messages()).toEqual(['old-1', 'old-2', 'old-3', 'new-1']);
    // Same offset as old-1 but a different line: a different _id, so it is not mistaken for a duplicate.
    expect(c.events[3].id).not.toBe(c.events[0].id);
  });

  it('restarts mid-file from the committed position: nothing skipped, nothing repeated', async () => {
    await writeFile(file, line('l1') + line('l2'));
    const c1 = collector();
    const m1 = await manager(c1);
    await m1.pollOnce();
    await appendFile(file, line('l3'));
    await m1.pollOnce();
    await m1.stop();
    managers.length = 0;
    const saved = JSON.parse(await readFile(state, 'utf8')) as Record<string, { offset: number }>;
    expect(saved[file].offset).toBe(Buffer.byteLength(line('l1') + line('l2') + line('l3')));
    await appendFile(file, line('l4') + line('l5'));
    const c2 = collector();
    const m2 = await manager(c2);
    await m2.pollOnce();
    expect(c2.messages()).toEqual(['l4', 'l5']);
  });

  it('commits only delivered lines: unacknowledged ones are read again after a restart, with the same _ids', async () => {
    await writeFile(file, line('x1'));
    const c1 = collector();
    const m1 = await manager(c1);
    await m1.pollOnce();
    c1.autoAck = false;
    await appendFile(file, line('x2') + line('x3'));
    await m1.pollOnce();
    await m1.stop(); // x2, x3 never acknowledged (as if killed before delivery)
    managers.length = 0;
    const c2 = collector();
    const m2 = await manager(c2);
    await m2.pollOnce();
    expect(c2.messages()).toEqual(['x2', 'x3']);
    expect(c2.events.map((e) => e.id)).toEqual(c1.held.map((e) => e.id));
  });

  it('after a restart finds the rotated file by inode and finishes it before the new one', async () => {
    await writeFile(file, line('r1'));
    const c1 = collector();
    const m1 = await manager(c1);
    await m1.pollOnce();
    await m1.stop();
    managers.length = 0;
    await appendFile(file, line('r2'));
    await rename(file, `${file}.1`);
    await writeFile(file, line('s1'));
    const c2 = collector();
    const m2 = await manager(c2);
    await m2.pollOnce();
    await m2.pollOnce();
    expect(c2.messages()).toEqual(['r2', 's1']);
  });

  it('cuts a runaway line at max_line_bytes instead of buffering it', async () => {
    await writeFile(file, 'x'.repeat(10_000));
    const c = collector();
    const m = await manager(c);
    await m.pollOnce();
    expect(c.events).toHaveLength(1);
    const d = JSON.parse(c.events[0].json) as { message: string; error: { message: string } };
    expect(d.message.length).toBe(4096);
    expect(d.error.message).toContain('truncated');
  });
});
