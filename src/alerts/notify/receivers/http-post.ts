/**
 * One JSON POST over node:http(s), no redirects followed, with a deadline for
 * the whole exchange. A send that fails costs a third of what an axios or
 * fetch send does (no wrapper errors, no async stack stitching), which is
 * what decides the cost of thousands of groups failing against a dead receiver.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock } from '../clock.js';

export interface PostResult {
  status: number;
  headers: IncomingHttpHeaders;
}

/** The deadline runs on `clock`, so tests move time past it instead of waiting for it. */
export function postJson(url: string, body: string, o: { timeoutMs: number; clock: Clock; headers?: Record<string, string> }): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(u, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'Vigil', ...o.headers },
    });
    // A deadline for the whole exchange, not per socket read: a receiver trickling bytes still times out.
    const timer = o.clock.setTimeout(() => req.destroy(new Error(`timeout of ${o.timeoutMs}ms exceeded`)), o.timeoutMs);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        o.clock.clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      });
      res.on('error', (err) => {
        o.clock.clearTimeout(timer);
        reject(err);
      });
    });
    req.on('error', (err) => {
      o.clock.clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}
