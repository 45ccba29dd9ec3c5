/** `vigil dashboards push` against a loopback stand-in for Grafana's HTTP API. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/dashboards-push.js';
import { buildDashboards, UID } from '../../src/dashboards/index.js';
import { folderUid, GrafanaPushError, pushDashboards } from '../../src/dashboards/push.js';

const TOKEN = 'glsa_secretServiceAccountToken_0123456789';

interface Seen {
  method: string;
  url: string;
  auth?: string;
  body?: any;
}

type Responder = (req: Seen, res: ServerResponse) => void;

describe('dashboards push', () => {
  let server: Server;
  let url: string;
  let seen: Seen[] = [];
  let folders = new Set<string>();
  let responder: Responder | undefined;

  const grafana: Responder = (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.auth !== `Bearer ${TOKEN}`) return send(401, { message: 'invalid API key' });
    const folder = /^\/grafana\/api\/folders\/([^/]+)$/.exec(req.url);
    if (req.method === 'GET' && folder) return folders.has(folder[1]) ? send(200, { uid: folder[1] }) : send(404, { message: 'folder not found' });
    if (req.method === 'POST' && req.url === '/grafana/api/folders') {
      folders.add(req.body.uid);
      return send(200, { uid: req.body.uid, title: req.body.title });
    }
    if (req.method === 'POST' && req.url === '/grafana/api/dashboards/db') {
      if (!folders.has(req.body.folderUid)) return send(400, { message: 'folder not found' });
      return send(200, { status: 'success', uid: req.body.dashboard.uid, url: `/d/${req.body.dashboard.uid}/x`, version: 3 });
    }
    return send(404, { message: 'not found' });
  };

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        const s: Seen = { method: req.method!, url: req.url!, auth: req.headers.authorization, body: data ? JSON.parse(data) : undefined };
        seen.push(s);
        (responder ?? grafana)(s, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/grafana`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });
  afterEach(() => {
    seen = [];
    folders = new Set();
    responder = undefined;
    vi.restoreAllMocks();
  });

  it('creates the folder, then posts every dashboard with overwrite and the token', async () => {
    const results = await pushDashboards({ url, token: TOKEN, folder: 'SRE / Vigil', dashboards: buildDashboards() });
    expect(results.map((r) => r.uid).sort()).toEqual(Object.values(UID).sort());
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/grafana/api/folders/sre-vigil' });
    expect(seen[1]).toMatchObject({ method: 'POST', url: '/grafana/api/folders', body: { uid: 'sre-vigil', title: 'SRE / Vigil' } });
    const posts = seen.slice(2);
    expect(posts).toHaveLength(Object.keys(UID).length);
    for (const p of posts) {
      expect(p).toMatchObject({ method: 'POST', url: '/grafana/api/dashboards/db', auth: `Bearer ${TOKEN}` });
      expect(p.body).toMatchObject({ folderUid: 'sre-vigil', overwrite: true });
      expect(p.body.dashboard.id).toBeNull();
      expect(p.body.dashboard.panels.length).toBeGreaterThan(0);
    }
  });

  it('reuses an existing folder', async () => {
    folders.add('vigil');
    await pushDashboards({ url, token: TOKEN, dashboards: buildDashboards() });
    expect(seen.filter((s) => s.url === '/grafana/api/folders')).toEqual([]);
  });

  it('the CLI prints uids, never the token', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((m: string) => void out.push(m));
    vi.spyOn(console, 'error').mockImplementation((m: string) => void out.push(m));
    expect(await run(['--url', url, '--folder', 'Vigil'], { GRAFANA_TOKEN: TOKEN })).toBe(0);
    expect(out.join('\n')).toContain('pushed vigil-planning-api (version 3)');
    expect(out.join('\n')).not.toContain(TOKEN);
  });

  it('a rejected token fails with a hint, and the token is redacted even when Grafana echoes it', async () => {
    responder = (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `token ${TOKEN} lacks permission` }));
    };
    const err = await pushDashboards({ url, token: TOKEN, dashboards: buildDashboards() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrafanaPushError);
    expect((err as Error).message).toMatch(/HTTP 403.*<token> lacks permission.*GRAFANA_TOKEN/);
    expect((err as Error).message).not.toContain(TOKEN);
  });

  it('survives a hostile stand-in: huge non-JSON error bodies, redirects, a closed port', async () => {
    responder = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<html>'.padEnd(5_000_000, 'x'));
    };
    const big = await pushDashboards({ url, token: TOKEN, dashboards: buildDashboards() }).catch((e: Error) => e);
    expect((big as Error).message).toMatch(/HTTP 500/);
    expect((big as Error).message.length).toBeLessThan(500);
    responder = (_req, res) => {
      res.writeHead(302, { location: 'http://example.invalid/steal' });
      res.end();
    };
    await expect(pushDashboards({ url, token: TOKEN, dashboards: buildDashboards() })).rejects.toThrow(GrafanaPushError);
    await expect(pushDashboards({ url: 'http://127.0.0.1:1', token: TOKEN, dashboards: buildDashboards(), timeoutMs: 2000 })).rejects.toThrow(GrafanaPushError);
  });

  it('refuses bad input before sending anything', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await run(['--url', url], {})).toBe(1);
    expect(await run([], { GRAFANA_TOKEN: TOKEN })).toBe(2);
    expect(await run(['--url', url, '--bogus', 'x'], { GRAFANA_TOKEN: TOKEN })).toBe(2);
    expect(await run(['--url', 'ftp://grafana'], { GRAFANA_TOKEN: TOKEN })).toBe(1);
    expect(await run(['--url', 'http://admin:pw@grafana:3000'], { GRAFANA_TOKEN: TOKEN })).toBe(1);
    expect(seen).toEqual([]);
    expect(folderUid('!!!')).toBe('vigil');
    expect(folderUid('A'.repeat(100))).toHaveLength(40);
  });
});

describe('dashboards push --config', () => {
  it('reports a bad grafana section with file and line, sending nothing', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'vigil-push-'));
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
    try {
      await writeFile(join(dir, 'vigil.yml'), 'grafana:\n  url: javascript:alert(1)\n');
      expect(await run(['--config', join(dir, 'vigil.yml')], { GRAFANA_TOKEN: TOKEN })).toBe(1);
      expect(errors.join('\n')).toMatch(/vigil\.yml[\s\S]*line 2: grafana\.url: must be an http\(s\) URL/);
    } finally {
      vi.restoreAllMocks();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
