import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lineToEcsHead, lineToEcsPieces, MAPPED_KEYS, type MapContext } from '../../src/logs/ecs.js';
import { EventEncoder, lineId, sourceKey, type EncodedEvent } from '../../src/logs/event.js';

/**
 * The byte mapper (ecs-bytes.ts) against the string mapping (ecs.ts): for
 * every line the byte path accepts, the bulk item (action line with _id,
 * document, newline) must be the string path's, byte for byte.
 */
const key = sourceKey('/var/log/sical/app.log', 42);
const ctxs: MapContext[] = [
  { service: 'sical-backend', file: '/var/log/sical/app.log' },
  { service: 'svc "q"', dataset: 'other' },
];

function item(e: EncodedEvent): string {
  return e.slab.toString('latin1', e.start, e.end);
}

/** What file intake wrote before the byte path: the string mapping, then encodeLine or encode. */
function reference(enc: EventEncoder, bytes: Buffer, start: number, end: number, offset: number, ctx: MapContext): EncodedEvent {
  const line = bytes.toString('utf8', start, end);
  const head = lineToEcsHead(line, ctx);
  return (head !== undefined && enc.encodeLine(key, offset, bytes, start, end, head)) || enc.encode(lineId(key, offset, bytes, start, end), lineToEcsPieces(line, ctx));
}

/** Maps every line both ways; returns how many the byte path took. */
function compare(lines: Array<string | Buffer>): number {
  const fast = new EventEncoder();
  const slow = new EventEncoder();
  let taken = 0;
  let offset = 0;
  for (const ctx of ctxs) {
    for (const l of lines) {
      // Surrounding bytes as in a read buffer: the mapper must stay inside [start, end).
      const body = typeof l === 'string' ? Buffer.from(l) : l;
      const bytes = Buffer.concat([Buffer.from('}"\n'), body, Buffer.from('\n{"x":1}')]);
      const start = 3;
      const end = 3 + body.length;
      const got = fast.encodeMapped(key, offset, bytes, start, end, ctx);
      const want = reference(slow, bytes, start, end, offset, ctx);
      if (got) {
        taken++;
        if (item(got) !== item(want)) expect({ line: body.toString('latin1'), item: item(got) }).toEqual({ line: body.toString('latin1'), item: item(want) });
        expect(got.id).toBe(want.id);
      }
      offset += body.length + 1;
    }
  }
  return taken;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const realistic = [
  '{"timestamp":"2026-03-01T10:00:00.000Z","level":"info","logger":"http","caller":"middleware/log.go:42","message":"evt-1","method":"GET","path":"/api/v1/plans","status":200,"latency":0.0042,"client_ip":"10.0.0.7","user_agent":"k6/0.50","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}',
  '{"timestamp":"2026-03-01T10:00:00.000Z","level":"INFO","logger":"http","caller":"middleware/log.go:42","message":"evt-1","method":"get","path":"/api/v1/plans","status":200,"latency":0.0042,"client_ip":"10.0.0.7","user_agent":"k6/0.50","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","extra":"x"}',
  '{"ts":"2026-03-01T10:00:00Z","kind":"audit","action":"delete","resource":"plan/7","success":true,"user":"ana"}',
  '{"timestamp":"2026-01-02T03:04:05.000Z","level":"info","logger":"app","caller":"main.go:12","message":"started"}',
  '{"level":"error","ts":1700000000.123,"caller":"handlers/user.go:88","msg":"db timeout","error":"context deadline exceeded","stacktrace":"main.f\\n\\tmain.go:1","trace_id":"abc","span_id":"def"}',
  '{"time":1700000000123,"level":30,"msg":"request completed","pid":7,"hostname":"h1","v":1,"req_id":"r-1"}',
  '{"time":1700000000123,"level":50,"msg":"caf\\u00e9 \\"quoted\\" é\\t","pid":1}',
  '{"timestamp":"2026-03-01T10:00:00.000Z","level":"warn","method":"post","path":"/api/v1/plans","status":503,"latency":"12.5ms","client_ip":"::1","user_agent":"Mozilla/5.0 (X11; Linux x86_64) ünï","user_id":42}',
  '{"timestamp":"2026-03-01T10:00:00.000Z","event_type":"plan_created","status":"success","user":"bob","plan_id":17,"amount":12.5,"premium":false}',
  '{"timestamp":"2026-03-01T10:00:00.000Z","log_type":"business","action":"subscribe","status":"FAILED"}',
  '{"timestamp":"2026-03-01T10:00:00.000Z","kind":"Access","method":"GET","path":"/health","status":"204","duration_ms":1.5}',
  '{"@timestamp":"2026-03-01T10:00:00.000+02:00","severity":"DEBUG","component":"scheduler","message":"tick","latency_ms":3}',
  '{"message":"first","level":"INFO","service":"sical-backend"}',
  '{"message":"second","user":"bob","action":"delete","resource":"plan","success":false}',
  '{"message":"hello"}',
  '{}',
  '  { "level" : "info" , "message" : "spaced\\/out" , "n" : -12.50e+2 }  ',
  '{"timestamp":"2026-03-01T10:00:00.000Z","message":"unicode ✓ 𝄞 \u2028 end","service_name":"svc-2","labels_ok":"яблоко"}',
  '{"timestamp":"2026-03-01T10:00:00.000Z","message":"nested kept in original","meta":{"a":[1,2,{"b":null}]},"tags":["x","y"],"x":null}',
];

const hostile: Array<string | Buffer> = [
  '{"message":"a","message":"b"}',
  '{"extra":"a","extra":"b"}',
  '{"extra":"a","other":1,"extra":{}}',
  '{"5":"five","a":"x"}',
  '{"__proto__":"p","constructor":"c","toString":1}',
  '{"a.b":"dots","a_b":"under"}',
  '{"a.b":{"x":1},"a_b":"under"}',
  '{"k-1":null}',
  `{"${'k'.repeat(65)}":"long key"}`,
  `{"${'k'.repeat(64)}":"64 key"}`,
  '{"err":{"message":"boom","type":"E","stack":"at x"}}',
  '{"error":["x"]}',
  '{"status":[404],"method":"GET","path":"/"}',
  '{"status":null,"method":"GET","path":"/"}',
  '{"status":true,"method":"GET","path":"/"}',
  '{"status":"","method":"GET","path":"/"}',
  '{"status":" 0x1F ","method":"GET","path":"/"}',
  '{"status":-0,"method":"GET","path":"/"}',
  '{"status":404.0,"method":"GET","path":"/"}',
  '{"status":1e3,"method":"GET","path":"/"}',
  '{"status":1e400,"method":"GET","path":"/"}',
  '{"status":"ok","event_type":"e"}',
  '{"status":200,"event_type":null}',
  '{"method":"","path":""}',
  '{"method":1e21,"path":true}',
  '{"method":"straße","path":"/ß"}',
  '{"method":"\\u0067et","path":"/p"}',
  '{"level":"İSTANBUL"}',
  '{"level":""}',
  '{"level":null,"severity":"Warn"}',
  '{"level":false,"severity":"Warn"}',
  '{"level":30.0}',
  '{"level":35}',
  '{"level":-0}',
  '{"level":1E1}',
  '{"timestamp":null,"time":1700000000}',
  '{"timestamp":"not a date"}',
  '{"timestamp":"2026-13-45T99:99:99.999Z"}',
  '{"timestamp":"2026-03-01T10:00:00.000\\u005a"}',
  '{"timestamp":true}',
  '{"timestamp":1e20}',
  '{"@timestamp":0}',
  '{"caller":"noline"}',
  '{"caller":"a:b:12"}',
  '{"caller":"a:"}',
  '{"caller":":7"}',
  '{"caller":"x.go:007"}',
  '{"caller":"x.go:99999999999999999999"}',
  '{"caller":"esc\\"aped.go:3"}',
  '{"latency":"1h2m3.5s"}',
  '{"latency":"bogus","latency_ms":5}',
  '{"latency":null,"latency_ms":5}',
  '{"latency":1e300}',
  '{"latency_ms":"5","duration_ms":2}',
  '{"kind":null,"log_type":"AUDIT","resource":"r"}',
  '{"kind":false,"method":"GET","path":"/"}',
  '{"kind":7}',
  '{"action":null,"resource":null}',
  '{"action":"a","resource":"","success":"true"}',
  '{"action":"a","resource":5,"success":null}',
  '{"action":"a","resource":"r","success":"TRUE"}',
  '{"event_type":"x","action":"y"}',
  '{"event_type":null,"action":"y","status":"Ok"}',
  '{"user":"","user_id":0}',
  '{"user":false,"user_id":""}',
  '{"service":5,"service_name":null}',
  '{"service":"s","service_name":false}',
  '{"logger":5,"component":"c"}',
  '{"logger":"","component":"c"}',
  '{"message":null,"msg":"fallback"}',
  '{"message":12.0}',
  '{"client_ip":5,"user_agent":"","trace_id":"t","span_id":null}',
  `{"big":"${'é'.repeat(600)}"}`,
  `{"big":"${'x'.repeat(1024)}"}`,
  `{"big":"${'x'.repeat(1025)}"}`,
  `{"big":"${'\\n'.repeat(600)}"}`,
  `{"big":"${'😀'.repeat(513)}"}`,
  `{${Array.from({ length: 40 }, (_, i) => `"l${i}":${i}`).join(',')}}`,
  `{${Array.from({ length: 40 }, (_, i) => `"l${i}":${i}`).join(',')},"9":"late"}`,
  `{${Array.from({ length: 300 }, (_, i) => `"l${i}":null`).join(',')}}`,
  `{"deep":${'['.repeat(70)}${']'.repeat(70)}}`,
  `{"deep":${'['.repeat(60)}${']'.repeat(60)}}`,
  '{"n":01}',
  '{"n":1.}',
  '{"n":.5}',
  '{"n":-}',
  '{"n":1e}',
  '{"n":+1}',
  '{"n":NaN}',
  '{"t":tru}',
  '{"t":nul}',
  '{"t":falsey}',
  '{"a":1,}',
  '{"a":1',
  '{"a" 1}',
  '{a:1}',
  '{"a":"b"} x',
  '{"a":"b"}{}',
  '[1,2]',
  '"str"',
  '42',
  'null',
  'plain text line',
  '\ufeff{"a":1}',
  '{"a":"\\x"}',
  '{"a":"\\u12"}',
  '{"a":"\\u12G4"}',
  '{"a":"\\ud800"}',
  '{"message":"\\ud83d\\ude00 pair"}',
  '{"a\\u0062":"escaped key"}',
  '{"a":"tab\there"}',
  '{"a":"ctl\u0001"}',
  '{"a":"del\u007f"}',
  '{"a":{"b":"\\q"}}',
  '{"a":[1,}',
  '{"a":[,1]}',
  '{"a":{"b"}}',
  '{"a":{"b":1,}}',
  Buffer.from([...Buffer.from('{"message":"'), 0xff, ...Buffer.from('"}')]),
  Buffer.from([...Buffer.from('{"message":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]),
  Buffer.from([...Buffer.from('{"k":"'), 0xc3, ...Buffer.from('"}')]),
  Buffer.from([...Buffer.from('{"'), 0xc3, 0xa9, ...Buffer.from('":"non-ascii key"}')]),
  `{"message":"${'x'.repeat(40_000)}"}`,
];

describe('ECS mapping from a line\'s bytes', () => {
  beforeAll(() => {
    // Lines without a time get the current one: both paths must see the same.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-05-01T12:00:00.000Z'));
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  it('writes the string mapping\'s bulk items for the planning API\'s and pino\'s lines, and takes all of them', () => {
    expect(compare(realistic)).toBe(realistic.length * ctxs.length);
  });

  it('writes the same bytes or declines on hostile lines', () => {
    const taken = compare(hostile);
    // Most of them are in reach of the byte path: the comparison is not vacuous.
    expect(taken).toBeGreaterThan(hostile.length);
  });

  it('writes the same bytes or declines on generated lines and their mutations', () => {
    const r = rng(21);
    const pick = <T,>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
    const keys = [...MAPPED_KEYS, 'extra', 'req_id', 'n2', '_x'];
    const oddKeys = ['a.b', 'a_b', '5', 'x y', 'é', '__proto__'];
    const strings = ['', 'x', 'INFO', 'Warn', 'get', 'GET', '/p', 'audit', 'Business', 'access', 'true', 'success', 'failed', 'main.go:12', 'a:b', '1.5ms', '2m3s', 'nope',
      '2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00Z', 'tab\\t', 'q\\"', '\\u00e9', 'ü', '😀', '0x10', ' 42 '];
    const scalars = ['null', 'true', 'false', '0', '-0', '200', '404', '30', '1.5', '-2e3', '1E400', '0.0042', '1700000000', '1700000000123',
      '-0.0', '12.50', '0.1', '2.675', '0.000001', '0.0000000000000000000000001', '123456789012345.6', '1234567890123456', '999999999999999', '9007199254740993', '1.7976931348623157e308', '5e-324'];
    const values = (): string => {
      const x = r();
      if (x < 0.55) return JSON.stringify(pick(strings)).replace(/\\\\/g, '\\');
      if (x < 0.97) return pick(scalars);
      if (x < 0.985) return '{"message":"m","type":"E","n":[1,{}]}';
      return '[1,"a",null]';
    };
    const ws = () => (r() < 0.1 ? pick([' ', '\t', '  ', '\r']) : '');
    const lines: Array<string | Buffer> = [];
    for (let n = 0; n < 3000; n++) {
      const fields: string[] = [];
      const count = Math.floor(r() * 12);
      const used = new Set<string>();
      for (let i = 0; i < count; i++) {
        const k = r() < 0.05 ? pick(oddKeys) : pick(keys);
        // Mostly distinct keys: a repeated key sends the line to JSON.parse.
        if (used.has(k) && r() < 0.9) continue;
        used.add(k);
        fields.push(`${ws()}${JSON.stringify(k)}${ws()}:${ws()}${values()}${ws()}`);
      }
      const line = `${ws()}{${fields.join(',')}}${ws()}`;
      lines.push(line);
      // A mutation: one byte replaced, inserted or dropped.
      const b = Buffer.from(line);
      const at = Math.floor(r() * b.length);
      const op = r();
      const byte = pick([0x22, 0x5c, 0x2c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x20, 0x00, 0x31, 0x65, 0x2e, 0x2d, 0x80, 0xc3]);
      if (op < 0.4) b[at] = byte;
      lines.push(op < 0.4 ? b : op < 0.7 ? Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]) : Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]));
    }
    const taken = compare(lines);
    expect(taken).toBeGreaterThan(lines.length * ctxs.length * 0.35);
  });
});
