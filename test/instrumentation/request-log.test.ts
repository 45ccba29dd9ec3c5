import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchedLineWriter } from '../../src/api/instrumentation/line-writer.js';
import { createApiLogger, logSeconds, type RequestRecord } from '../../src/api/instrumentation/request-log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const failure = new Error('düş: "quoted" \\ back');

const records: RequestRecord[] = [
  { method: 'GET', path: '/api/v1/plans/7', status: 200, latency: 0.000812345678, clientIp: '127.0.0.1', userAgent: 'autocannon', traceparent: undefined },
  { method: 'GET', path: '/api/v1/plans/7', status: 200, latency: 1.5, clientIp: '::ffff:10.0.0.1', userAgent: '', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  { method: 'GET', path: '/api/v1/plans/8', status: 404, latency: 0.0000004, clientIp: '127.0.0.1', userAgent: 'Mözilla/5.0 (ü)', traceparent: undefined },
  { method: 'POST', path: '/a"b\\c', status: 400, latency: 12.3456789, clientIp: '127.0.0.1', userAgent: 'x\ty', traceparent: 'garbage', error: new Error('body/title must be string') },
  { method: 'GET', path: '/boom', status: 500, latency: 0.25, clientIp: '127.0.0.1', userAgent: 'curl/8', traceparent: undefined, error: failure },
  { method: 'DELETE', path: '/caf\u00e9', status: 204, latency: 0, clientIp: '127.0.0.1', userAgent: 'curl/8', traceparent: undefined },
];

/** The documented line for a record, by JSON.stringify in the documented field order. */
function expected(r: RequestRecord, timestamp: string): string {
  const failed = r.status >= 500;
  const fields: Record<string, unknown> = {
    level: failed ? 'error' : r.status >= 400 ? 'warn' : 'info',
    timestamp,
    logger: 'http',
    message: failed ? 'request failed' : r.status >= 400 ? 'request rejected' : 'request',
    method: r.method,
    path: r.path,
    status: r.status,
    latency: Math.round(r.latency * 1e6) / 1e6,
    client_ip: r.clientIp,
    user_agent: r.userAgent,
  };
  if (r.traceparent === '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') Object.assign(fields, { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' });
  if (r.error) {
    fields.error = r.error.message;
    if (failed) fields.stacktrace = r.error.stack;
  }
  return `${JSON.stringify(fields)}\n`;
}

function check(text: string): void {
  const lines = text.split('\n').slice(0, -1).map((l) => `${l}\n`);
  expect(lines).toHaveLength(records.length);
  lines.forEach((line, i) => expect(line).toBe(expected(records[i], JSON.parse(line).timestamp as string)));
}

/** A fresh log file, removed after the test. */
function logFile(): { file: string; fd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-reqlog-'));
  dirs.push(dir);
  const file = join(dir, 'out.log');
  return { file, fd: openSync(file, 'w') };
}

describe('request log lines', () => {
  it('are byte for byte the documented JSON through the batched writer, ASCII or not', () => {
    const { file, fd } = logFile();
    const w = new BatchedLineWriter(fd);
    const log = createApiLogger({ destination: w });
    for (const r of records) log.request(r);
    w.close();
    closeSync(fd);
    check(readFileSync(file, 'utf8'));
  });

  it('are the same through any other destination', () => {
    let text = '';
    const log = createApiLogger({
      destination: new Writable({
        write(chunk, _enc, cb) {
          text += String(chunk);
          cb();
        },
      }),
    });
    for (const r of records) log.request(r);
    check(text);
  });

  it('encoded straight into the batch are dropped and counted past the writer\'s bound', () => {
    const { file, fd } = logFile();
    const w = new BatchedLineWriter(fd, 100);
    const log = createApiLogger({ destination: w });
    for (let i = 0; i < 5; i++) log.request(records[0]);
    expect(w.dropped).toBe(4);
    w.close();
    closeSync(fd);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(expected(records[0], JSON.parse(lines[0]).timestamp as string).slice(0, -1));
    expect(JSON.parse(lines[1])).toMatchObject({ message: 'request log lines dropped: output too slow', dropped: 4 });
  });

  it('write latency in seconds to the microsecond', () => {
    const lines: string[] = [];
    const log = createApiLogger({ destination: { write: (l: string) => lines.push(l) } });
    for (const latency of [0.000812345678, 0.0000004, 0.0000015, 2, 0.1 + 0.2]) log.request({ ...records[0], latency });
    expect(lines.map((l) => JSON.parse(l).latency)).toEqual([0.000812, 0, 0.000002, 2, 0.3]);
    expect(lines[0]).toContain('"latency":0.000812,');
  });

  it('carry the ISO 8601 timestamp of the millisecond they were written in, through either destination', () => {
    const { file, fd } = logFile();
    const w = new BatchedLineWriter(fd);
    const lines: string[] = [];
    const logs = [createApiLogger({ destination: { write: (l: string) => lines.push(l) } }), createApiLogger({ destination: w })];
    const times = [Date.UTC(2026, 11, 7, 11, 59, 59, 999), Date.UTC(2026, 11, 7, 12, 0, 0, 0), Date.UTC(2026, 11, 7, 12, 0, 0, 7), Date.UTC(2026, 11, 7, 12, 0, 0, 70), Date.UTC(2026, 11, 7, 12, 0, 0, 70), Date.UTC(2026, 11, 7, 12, 0, 1, 500), -1, 0, Date.UTC(10000, 0, 1), Date.UTC(2026, 0, 1)];
    const now = vi.spyOn(Date, 'now');
    try {
      for (const t of times) {
        now.mockReturnValue(t);
        for (const log of logs) {
          log.request(records[0]);
          log.request(records[1]);
          log.info({ n: 1 }, 'other');
        }
      }
    } finally {
      now.mockRestore();
    }
    w.close();
    closeSync(fd);
    const want = times.flatMap((t) => Array<string>(3).fill(new Date(t).toISOString()));
    expect(lines.map((l) => JSON.parse(l).timestamp)).toEqual(want);
    const written = readFileSync(file, 'utf8').trim().split('\n');
    expect(written.map((l) => JSON.parse(l).timestamp)).toEqual(want);
    expect(written).toEqual(lines.map((l) => l.slice(0, -1)));
  });

  it('carry the timestamp of their millisecond from the first line, whatever the millisecond', () => {
    const { file, fd } = logFile();
    const w = new BatchedLineWriter(fd);
    const log = createApiLogger({ destination: w });
    const times = [-1, -1, Date.UTC(2026, 11, 7, 12, 0, 0, 99), Date.UTC(2026, 11, 7, 12, 0, 0, 100), Date.UTC(2026, 11, 7, 12, 0, 0, 909)];
    const now = vi.spyOn(Date, 'now');
    try {
      for (const t of times) {
        now.mockReturnValue(t);
        log.request(records[0]);
      }
    } finally {
      now.mockRestore();
    }
    w.close();
    closeSync(fd);
    const written = readFileSync(file, 'utf8').trim().split('\n');
    expect(written.map((l) => JSON.parse(l).timestamp)).toEqual(times.map((t) => new Date(t).toISOString()));
  });

  it('write latency as the text JavaScript gives the microsecond-rounded number', () => {
    const js = (s: number) => String(Math.round(s * 1e6) / 1e6);
    const values = [0, -0, -1, -0.0000004, NaN, Infinity, 1e-7, 0.0000005, 0.000001, 0.00001, 0.1, 0.12, 0.123, 0.1234, 0.123456, 63.999999, 64, 64.5, 1e9 - 1e-6, 1e9, 1e12, 1e21, 1e22];
    for (let us = 0; us < 2_000_000; us += 997) values.push(us / 1e6, (us + 0.5) / 1e6);
    // Deterministic spread over twelve decades, from below a microsecond to days.
    let x = 0x2545f491;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      values.push(10 ** ((x / 2 ** 32) * 12 - 7));
    }
    for (const v of values) expect(logSeconds(v), String(v)).toBe(js(v));
  });
});
