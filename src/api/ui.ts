/**
 * The web UI: its pages (one HTML shell, the app picks the page from the
 * path), its bundled assets from dist/web (built by `npm run build`), and
 * sign-in. Every response here carries a strict Content-Security-Policy:
 * scripts, styles and connections only from Vigil's own origin.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { crossOrigin, sessionOf } from './auth.js';
import { sendError } from './errors.js';
import { SESSION_COOKIE, sameSecret } from './session.js';

/** dist/web of this package, from src/api or dist/api alike. */
export const WEB_DIST = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/**
 * `style-src` also admits the response's nonce: the editor (CodeMirror) adds
 * its styles in a <style> element, which carries the nonce the page hands it.
 */
export const cspWith = (nonce?: string) => CSP.replace("style-src 'self'", `style-src 'self'${nonce ? ` 'nonce-${nonce}'` : ''}`);

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths the app renders; anything else under them is a 404 from the app itself. */
export const UI_PAGES = ['/', '/alerts', '/silences', '/silences/new', '/silences/:id', '/-/silence', '/targets', '/rules', '/graph', '/status', '/signin'];

const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

interface Asset {
  type: string;
  raw: Buffer;
  gzip?: Buffer;
  br?: Buffer;
}

function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const manifestFile = `${dir}manifest.json`;
  if (!existsSync(manifestFile)) return out;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: string[] };
  for (const name of manifest.files) {
    const ext = name.slice(name.lastIndexOf('.'));
    const type = ASSET_TYPES[ext] ?? (name.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/octet-stream');
    const read = (suffix: string) => (existsSync(`${dir}${name}${suffix}`) ? readFileSync(`${dir}${name}${suffix}`) : undefined);
    out.set(name, { type, raw: readFileSync(`${dir}${name}`), gzip: read('.gz'), br: read('.br') });
  }
  return out;
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset, cache: string, csp = CSP): FastifyReply {
  const accept = String(req.headers['accept-encoding'] ?? '');
  reply
    .type(a.type)
    .header('content-security-policy', csp)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', cache)
    .header('vary', 'accept-encoding');
  if (a.br && /\bbr\b/.test(accept)) return reply.header('content-encoding', 'br').send(a.br);
  if (a.gzip && /\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.raw);
}

export interface UiOptions {
  /** Where the built assets are (default dist/web). */
  dir?: string;
  /** The current server.token, to check sign-ins against; none means no sign-in is needed. */
  token?: () => string | undefined;
  /** Set the cookie's Secure flag (Vigil behind HTTPS). */
  secureCookie?: boolean;
}

export function uiRoutes(o: UiOptions): FastifyPluginAsync {
  const current = o.token ?? (() => undefined);
  // Read on the first page or asset request: a Vigil nobody opens in a browser
  // does not keep the bundle (about 1 MB with its compressed copies) resident.
  let loaded: Map<string, Asset> | undefined;
  const assets = () => (loaded ??= loadAssets(o.dir ?? WEB_DIST));
  return async (app) => {
    const page = async (req: FastifyRequest, reply: FastifyReply) => {
      const index = assets().get('index.html');
      if (!index) return sendError(reply, 503, 'unavailable', 'the web UI is not built: run `npm run build`');
      const nonce = randomBytes(16).toString('base64');
      const html = index.raw.toString('utf8').replace('<link rel="stylesheet"', `<link nonce="${nonce}" rel="stylesheet"`);
      return send(req, reply, { type: index.type, raw: Buffer.from(html) }, 'no-store', cspWith(nonce));
    };
    for (const p of UI_PAGES) app.get(p, page);
    app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
      const a = assets().get(req.params.name);
      if (!a || req.params.name === 'index.html') return sendError(reply, 404, 'not_found', 'no such asset');
      // Names carry a content hash: cache for a year.
      return send(req, reply, a, 'public, max-age=31536000, immutable');
    });

    const cookie = (value: string, maxAge: number) =>
      `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${o.secureCookie ? '; Secure' : ''}`;

    app.get('/api/v1/session', async (req) => {
      const { session } = sessionOf(req, app.sessions);
      return { status: 'success', data: { authRequired: !!current(), signedIn: !!session, csrfToken: session?.csrf ?? null } };
    });
    app.post<{ Body: { token: string } }>(
      '/api/v1/session',
      { bodyLimit: 4096, schema: { body: { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 1024 } } } } },
      async (req, reply) => {
        if (crossOrigin(req)) return sendError(reply, 403, 'forbidden', 'cross-origin sign-in refused');
        const token = current();
        if (!token || !sameSecret(req.body.token, token)) return sendError(reply, 401, 'unauthorized', 'wrong token');
        const { id, session } = app.sessions.create();
        return reply.header('set-cookie', cookie(id, app.sessions.maxAgeSeconds)).send({ status: 'success', data: { authRequired: true, signedIn: true, csrfToken: session.csrf } });
      },
    );
    app.delete('/api/v1/session', async (req, reply) => {
      const { id } = sessionOf(req, app.sessions);
      app.sessions.delete(id);
      return reply.header('set-cookie', cookie('', 0)).send({ status: 'success', data: { authRequired: !!current(), signedIn: false, csrfToken: null } });
    });
  };
}
