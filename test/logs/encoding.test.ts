import { describe, expect, it } from 'vitest';
import { lineToEcsHead, lineToEcsPieces } from '../../src/logs/ecs.js';
import { EventEncoder, lineId, sourceKey } from '../../src/logs/event.js';
import { jsonBytes, jsonBytesWorst } from '../../src/logs/json-bytes.js';

const key = sourceKey('/var/log/app.log', 1234);
const ctx = { service: 'svc', file: '/var/log/app.log' };

function viaBytes(bytes: Buffer): Buffer | undefined {
  const dst = Buffer.alloc(jsonBytesWorst(bytes.length) + 8);
  const end = jsonBytes(bytes, 0, bytes.length, dst, 3);
  return end < 0 ? undefined : dst.subarray(3, end);
}

describe('JSON string literals written from UTF-8 bytes', () => {
  it('equal JSON.stringify of the decoded text, for every byte value', () => {
    for (let b = 0; b < 128; b++) {
      const bytes = Buffer.from([0x61, b, 0x62]);
      expect(viaBytes(bytes)?.toString('utf8')).toBe(JSON.stringify(bytes.toString('utf8')));
    }
    for (const s of ['', 'plain', 'q"u\\o\nte\t\r\b\f\u0001\u001f\u007f', 'café ✓ 𝄞 \u2028', '{"a":"b\\"c"}']) {
      expect(viaBytes(Buffer.from(s))?.toString('utf8')).toBe(JSON.stringify(s));
    }
  });

  it('refuse bytes that are not valid UTF-8', () => {
    expect(viaBytes(Buffer.from([0x61, 0xff, 0x62]))).toBeUndefined();
    expect(viaBytes(Buffer.from([0xed, 0xa0, 0x80]))).toBeUndefined(); // an encoded lone surrogate
    expect(viaBytes(Buffer.from([0xc3]))).toBeUndefined();
  });
});

describe('tailed lines encoded from their bytes', () => {
  const lines = [
    '{"timestamp":"2026-03-01T10:00:00.000Z","level":"INFO","logger":"http","caller":"middleware/log.go:42","message":"evt-1","method":"get","path":"/api/v1/plans","status":200,"latency":0.0042,"client_ip":"10.0.0.7","user_agent":"k6/0.50","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","extra":"x"}',
    '{"time":1700000000123,"level":30,"msg":"caf\\u00e9 \\"quoted\\" é\\t","err":{"message":"boom","type":"E","stack":"at x"},"pid":1}',
    '{"ts":"2026-03-01T10:00:00Z","kind":"audit","action":"delete","resource":"plan/7","success":true,"user":"ana"}',
  ];

  it('give the bulk item, document and id of the string path, byte for byte', () => {
    const a = new EventEncoder();
    const b = new EventEncoder();
    let offset = 0;
    for (const text of lines) {
      const bytes = Buffer.from(`  ${text}\n`);
      const end = bytes.length - 1;
      const head = lineToEcsHead(bytes.toString('utf8', 2, end), ctx);
      expect(head).toBeDefined();
      const fast = a.encodeLine(key, offset, bytes, 2, end, head!)!;
      const slow = b.encode(lineId(key, offset, bytes, 2, end), lineToEcsPieces(bytes.toString('utf8', 2, end), ctx));
      expect(fast.slab.subarray(fast.start, fast.end).toString()).toBe(slow.slab.subarray(slow.start, slow.end).toString());
      expect(fast.id).toBe(lineId(key, offset, bytes, 2, end));
      expect(JSON.parse(fast.json)).toEqual(JSON.parse(slow.json));
      offset += bytes.length;
    }
  });

  it('keep ids of earlier releases', () => {
    const line = Buffer.from('xx{"message":"hello"}yy');
    expect(lineId(key, 100, line, 2, 21)).toBe('iN16rZjHI-VplrbjYMB5BQ');
    expect(lineId(key, 100 + 2 ** 32, line, 2, 21)).toBe('O3C0fCIx-LJvZyzMkXHPdA');
    const head = lineToEcsHead('{"message":"hello"}', ctx)!;
    expect(new EventEncoder().encodeLine(key, 100, line, 2, 21, head)?.id).toBe('iN16rZjHI-VplrbjYMB5BQ');
  });

  it('leave lines that are not valid UTF-8 or too long to the string path', () => {
    const enc = new EventEncoder();
    const bad = Buffer.from([...Buffer.from('{"message":"'), 0xff, ...Buffer.from('"}')]);
    expect(enc.encodeLine(key, 0, bad, 0, bad.length, lineToEcsHead(bad.toString(), ctx)!)).toBeUndefined();
    const long = Buffer.from(`{"message":"${'x'.repeat(40_000)}"}`);
    expect(enc.encodeLine(key, 0, long, 0, long.length, lineToEcsHead(long.toString(), ctx)!)).toBeUndefined();
    // Nothing was written: the next event still starts a fresh item.
    const ok = Buffer.from('{"message":"ok"}');
    const e = enc.encodeLine(key, 0, ok, 0, ok.length, lineToEcsHead(ok.toString(), ctx)!)!;
    expect(JSON.parse(e.json).message).toBe('ok');
  });
});

describe('slab recycling', () => {
  const line = Buffer.from(`{"message":"${'m'.repeat(3000)}","level":"info"}`);

  function fill(enc: EventEncoder, n: number, from = 0) {
    return Array.from({ length: n }, (_, i) => enc.encodeMapped(key, from + i, line, 0, line.length, ctx)!);
  }

  it('writes a slab again only once every event in it is released, and never touches events still out', () => {
    const enc = new EventEncoder({ recycle: true });
    const first = fill(enc, 400);
    const slabA = first[0].slab;
    const inA = first.filter((e) => e.slab === slabA);
    expect(inA.length).toBeLessThan(first.length); // the events span more than one slab
    const keep = first.map((e) => e.slab.toString('latin1', e.start, e.end));
    // All but one of slab A's events released: A must not come back.
    enc.release(slabA, inA.length - 1);
    const more = fill(enc, 800, 400);
    expect(more.some((e) => e.slab === slabA)).toBe(false);
    first.forEach((e, i) => expect(e.slab.toString('latin1', e.start, e.end)).toBe(keep[i]));
    // The last one released: the next slab the encoder starts is A.
    enc.release(slabA, 1);
    const after = fill(enc, 800, 1200);
    expect(after.some((e) => e.slab === slabA)).toBe(true);
    // Reused or not, every event reads back as its own line.
    for (const e of after) expect(JSON.parse(e.json).message).toBe(`${'m'.repeat(3000)}`);
  });

  it('does not hold on to slabs whose events are never released', () => {
    const enc = new EventEncoder({ recycle: true });
    for (let i = 0; i < 75; i++) fill(enc, 300, i * 300); // about 75 slabs
    expect((enc as unknown as { sealed: Map<Buffer, number> }).sealed.size).toBeLessThanOrEqual(64);
  });
});
