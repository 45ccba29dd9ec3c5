/**
 * The end of every HTTP/1 response a server sends, from Node's own
 * `http.server.response.finish` diagnostics channel. Node publishes to it from
 * the response's first 'finish' listener, which it adds itself, so watching it
 * costs one message object and a call per response; a 'finish' listener per
 * response (what a fastify onResponse hook sets up) costs a closure, two
 * listener additions and two removals besides. The channel is process-wide:
 * each watcher keeps to its own server's responses.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const RESPONSE_FINISH = 'http.server.response.finish';

interface FinishMessage {
  request: IncomingMessage;
  response: ServerResponse;
  socket: Socket;
  server: object;
}

/** Calls `onFinish` for each finished response of `server` until the returned function is called. */
export function watchResponseFinish(server: object, onFinish: (req: IncomingMessage, res: ServerResponse, socket: Socket) => void): () => void {
  const listener = (message: unknown) => {
    const m = message as FinishMessage;
    if (m.server === server) onFinish(m.request, m.response, m.socket);
  };
  subscribe(RESPONSE_FINISH, listener);
  return () => {
    unsubscribe(RESPONSE_FINISH, listener);
  };
}
