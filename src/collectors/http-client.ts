/**
 * A small HTTP GET for scrapes and probes on node:http(s): abortable, with a
 * body size limit enforced while streaming (on the decompressed size, as in
 * Prometheus), gzip, basic/bearer auth and tls_config.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { tlsOptions, type TlsConfig } from '../util/tls-options.js';

export interface HttpAuth {
  basic_auth?: { username: string; password?: string; password_file?: string };
  authorization?: { type: string; credentials?: string; credentials_file?: string };
  tls_config?: TlsConfig;
  follow_redirects?: boolean;
}

export interface HttpResponse {
  status: number;
  contentType: string;
  body: string;
}

export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`body size limit exceeded (limit ${limit} bytes)`);
    this.name = 'BodyTooLargeError';
  }
}

const MAX_REDIRECTS = 10;

function readSecret(inline: string | undefined, file: string | undefined): string {
  if (inline) return inline;
  if (file) return readFileSync(file, 'utf8').trim();
  return '';
}

export function authHeaders(auth: HttpAuth): Record<string, string> {
  if (auth.basic_auth) {
    const pw = readSecret(auth.basic_auth.password, auth.basic_auth.password_file);
    return { authorization: 'Basic ' + Buffer.from(`${auth.basic_auth.username}:${pw}`).toString('base64') };
  }
  if (auth.authorization) {
    const cred = readSecret(auth.authorization.credentials, auth.authorization.credentials_file);
    return { authorization: `${auth.authorization.type} ${cred}` };
  }
  return {};
}

export interface GetOptions extends HttpAuth {
  headers?: Record<string, string>;
  signal: AbortSignal;
  /** 0 = no limit. */
  bodyLimit: number;
}

/** A response whose headers have arrived; `body` is the decompressed stream, not yet read. */
export interface OpenResponse {
  status: number;
  contentType: string;
  /** Content-Length as sent (compressed size when compressed), or -1. */
  contentLength: number;
  body: Readable;
  res: http.IncomingMessage;
}

/** Sends a GET and resolves once the response headers are in (redirects followed). */
export async function httpOpen(url: string, opts: GetOptions, redirects = 0): Promise<OpenResponse> {
  const u = new URL(url);
  const isHttps = u.protocol === 'https:';
  const reqOpts: https.RequestOptions = {
    method: 'GET',
    headers: { 'accept-encoding': 'gzip', 'user-agent': 'Vigil', ...authHeaders(opts), ...opts.headers },
    signal: opts.signal,
    agent: false,
    // Read per request, as before: a renewed certificate is used at the next scrape.
    // The handshake parses the files; checking them here too would parse them twice per scrape.
    ...(isHttps ? tlsOptions(opts.tls_config, { check: false }) : {}),
  };
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = (isHttps ? https : http).request(u, reqOpts, resolve);
    req.once('error', reject);
    req.end();
  });
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location && opts.follow_redirects !== false) {
    res.resume();
    if (redirects >= MAX_REDIRECTS) throw new Error(`stopped after ${MAX_REDIRECTS} redirects`);
    return httpOpen(new URL(res.headers.location, u).toString(), opts, redirects + 1);
  }
  let body: Readable = res;
  const enc = String(res.headers['content-encoding'] ?? '').toLowerCase();
  if (enc === 'gzip') body = res.pipe(createGunzip());
  else if (enc === 'deflate') body = res.pipe(createInflate());
  const cl = Number(res.headers['content-length']);
  return { status, contentType: String(res.headers['content-type'] ?? ''), contentLength: Number.isFinite(cl) ? cl : -1, body, res };
}

export async function httpGet(url: string, opts: GetOptions): Promise<HttpResponse> {
  const r = await httpOpen(url, opts);
  const body = await readLimited(r.body, r.res, opts.bodyLimit);
  return { status: r.status, contentType: r.contentType, body: body.toString('utf8') };
}

/** Reads a whole (binary) body, within the size limit (0 = none). */
export function readBody(r: OpenResponse, limit: number): Promise<Uint8Array> {
  return readLimited(r.body, r.res, limit);
}

/** Stops reading: the socket is closed, nothing more is received. */
export function discard(r: OpenResponse): void {
  r.res.destroy();
  r.body.destroy();
}

/**
 * Reads a response body as text in whole lines, handing batches of lines to
 * `onLines` as they arrive (the last call may end without a newline). Bytes
 * are counted after decompression and the read stops the moment the limit is
 * crossed or `onLines` throws (a sample limit): the socket is closed and the
 * rest of the body is never received. Resolves with the bytes read.
 * Batches stay small (`batchChars`, counted in bytes): strings past ~128 KiB
 * are allocated in the old generation, and a body's worth of them per scrape
 * makes the collector mark the whole retained heap again and again.
 * Lines are cut on the bytes, before decoding: a newline byte never occurs
 * inside a multi-byte UTF-8 character, so each batch is decoded once into a
 * flat string, where decoding chunks and joining them to a partial line
 * copied the body a second time on the heap.
 */
export function streamLines(r: OpenResponse, limit: number, maxLine: number, onLines: (text: string) => void, batchChars = 32 * 1024): Promise<number> {
  const { body, res } = r;
  return new Promise((resolve, reject) => {
    let size = 0;
    let settled = false;
    /** Bytes received and not yet handed over; they end with an incomplete line. */
    let parts: Buffer[] = [];
    let partsBytes = 0;
    /** Characters (UTF-16 units, as the parser counts) of the incomplete line at the end of `parts`. */
    let tailChars = 0;
    const fail = (err: Error) => {
      if (settled) return;
      // Settle first: destroying the socket emits its own errors synchronously.
      settled = true;
      reject(Object.assign(err, { bytesRead: size }));
      res.destroy();
      body.destroy();
    };
    const deliver = (text: string) => {
      try {
        onLines(text);
      } catch (err) {
        fail(err as Error);
      }
    };
    body.on('data', (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (limit > 0 && size > limit) return fail(new BodyTooLargeError(limit));
      parts.push(c);
      partsBytes += c.length;
      const nl = c.lastIndexOf(NEWLINE);
      // A line longer than the parser accepts is an error now, not after buffering more of it.
      tailChars = nl < 0 ? tailChars + utf16Length(c, 0, c.length) : utf16Length(c, nl + 1, c.length);
      if (tailChars > maxLine) return fail(new Error(`line too long (more than ${maxLine} characters)`));
      if (nl < 0 || partsBytes < batchChars) return;
      const all = parts.length === 1 ? c : Buffer.concat(parts, partsBytes);
      const cut = partsBytes - (c.length - nl - 1);
      parts = cut < partsBytes ? [all.subarray(cut)] : [];
      partsBytes -= cut;
      deliver(all.toString('utf8', 0, cut));
    });
    body.once('end', () => {
      if (settled) return;
      const rest = parts.length === 0 ? '' : Buffer.concat(parts, partsBytes).toString('utf8');
      parts = [];
      if (rest.length) deliver(rest);
      if (settled) return;
      settled = true;
      resolve(size);
    });
    body.once('error', (err) => fail(new Error(`reading the body failed: ${err.message}`)));
    res.once('error', (err) => fail(err));
    res.once('aborted', () => fail(new Error('connection closed while reading the body')));
  });
}

const NEWLINE = 0x0a;

/** The length of `b[start, end)` decoded as a JavaScript string: one unit per character, two for those past U+FFFF. */
function utf16Length(b: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const x = b[i];
    // Continuation bytes add nothing; a four-byte sequence's lead adds a surrogate pair.
    if (x < 0x80 || x >= 0xc0) n += x >= 0xf0 ? 2 : 1;
  }
  return n;
}

function readLimited(stream: Readable, res: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      // Settle first: destroying the socket emits its own errors synchronously.
      settled = true;
      reject(err);
      res.destroy();
      stream.destroy();
    };
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (limit > 0 && size > limit) return fail(new BodyTooLargeError(limit));
      chunks.push(c);
    });
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, size));
    });
    stream.once('error', (err) => fail(new Error(`reading the body failed: ${err.message}`)));
    res.once('error', (err) => fail(err));
    res.once('aborted', () => fail(new Error('connection closed while reading the body')));
  });
}
