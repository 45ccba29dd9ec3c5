import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpOpen, streamLines } from '../../src/collectors/http-client.js';

/** A server that writes the given chunks, each flushed on its own, so the client sees them as separate reads. */
let server: Server;
let chunks: Buffer[] = [];
let base = '';

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let i = 0;
    const next = () => {
      if (i === chunks.length) return res.end();
      res.write(chunks[i++], () => setImmediate(next));
    };
    next();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function read(parts: Buffer[], maxLine = 1024, batch = 8): Promise<{ texts: string[]; bytes: number }> {
  chunks = parts;
  const texts: string[] = [];
  const bytes = await streamLines(await httpOpen(base, { signal: new AbortController().signal, bodyLimit: 0 }), 0, maxLine, (t) => texts.push(t), batch);
  return { texts, bytes };
}

describe('streamLines', () => {
  it('hands over whole lines only, with characters split between reads decoded whole', async () => {
    const body = Buffer.from('a{v="é€𝄞"} 1\nb 2\nc{v="ü"} 3\nlast 4');
    // Cut inside the three- and four-byte characters and inside lines.
    const cuts = [5, 9, 12, 20, 27, body.length];
    const parts = cuts.map((end, k) => body.subarray(k === 0 ? 0 : cuts[k - 1], end));
    const { texts, bytes } = await read(parts);
    expect(bytes).toBe(body.length);
    expect(texts.join('')).toBe(body.toString('utf8'));
    for (const t of texts.slice(0, -1)) expect(t.endsWith('\n')).toBe(true);
  });

  it('fails a line longer than the limit before the rest of it arrives, counting characters, not bytes', async () => {
    // 30 three-byte characters: 90 bytes but 30 characters, within a limit of 40.
    const wide = Buffer.from(`ok{v="${'€'.repeat(30)}"} 1\n`);
    const fine = await read([wide.subarray(0, 50), wide.subarray(50)], 40);
    expect(fine.texts.join('')).toBe(wide.toString('utf8'));
    await expect(read([Buffer.from('x'.repeat(30)), Buffer.from('y'.repeat(30)), Buffer.from(' 1\n')], 40)).rejects.toThrow(/line too long/);
  });
});
