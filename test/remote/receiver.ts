import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import { uncompressSync } from 'snappy';
import { decodeWriteBody, type ProtoHistogram, type WriteRequest } from '../../src/remote/proto.js';

export type Reply = { status: number; headers?: Record<string, string>; body?: string };

/** A loopback remote-write receiver that decodes every request and answers what `reply` says; over https when given TLS options. */
export class Receiver {
  requests: WriteRequest[] = [];
  /** Uncompressed protobuf bodies. */
  raw: Buffer[] = [];
  /** series key -> [t, v] in arrival order */
  samples = new Map<string, Array<[number, number]>>();
  /** series key -> native histograms in arrival order */
  histograms = new Map<string, ProtoHistogram[]>();
  reply: (req: WriteRequest, n: number) => Reply = () => ({ status: 204 });
  headers: Array<Record<string, string | string[] | undefined>> = [];
  private server?: Server;
  private count = 0;
  url = '';

  constructor(private readonly tls?: HttpsOptions) {}

  async start(): Promise<void> {
    const handler: Parameters<typeof createServer>[1] = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let wr: WriteRequest;
        try {
          wr = decodeWriteBody(Buffer.concat(chunks));
        } catch (err) {
          res.writeHead(400).end(String(err));
          return;
        }
        this.headers.push(req.headers);
        this.raw.push(uncompressSync(Buffer.concat(chunks)) as Buffer);
        const r = this.reply(wr, this.count++);
        if (r.status < 300) {
          this.requests.push(wr);
          for (const ts of wr.timeseries) {
            const key = ts.labels.map((l) => `${l.name}=${l.value}`).join(',');
            let list = this.samples.get(key);
            if (!list) this.samples.set(key, (list = []));
            for (const s of ts.samples) list.push([Number(s.timestamp), s.value]);
            if (ts.histograms?.length) {
              let hl = this.histograms.get(key);
              if (!hl) this.histograms.set(key, (hl = []));
              hl.push(...ts.histograms);
            }
          }
        }
        res.writeHead(r.status, r.headers).end(r.body ?? '');
      });
    };
    this.server = this.tls ? createHttpsServer(this.tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address() as { port: number };
    this.url = `${this.tls ? 'https' : 'http'}://127.0.0.1:${addr.port}/api/v1/write`;
  }

  total(): number {
    let n = 0;
    for (const l of this.samples.values()) n += l.length;
    return n;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
