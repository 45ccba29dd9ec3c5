/**
 * The start and end of every HTTP/1 request a server answers, from Node's own
 * `http.server.request.start` and `http.server.response.finish` diagnostics
 * channels. Node publishes the start just before it emits 'request', and the
 * end from the response's first 'finish' listener, which it adds itself: each
 * costs one message object and a call per request. A 'request' listener of our
 * own beside the framework's would make every emit copy the listener array and
 * call through a loop (in an EventEmitter on its own under callgrind, about
 * 2.5k instructions an emit to two listeners against some 200 to one), and a
 * 'finish' listener per response (what a fastify onResponse hook sets up)
 * costs a closure, two listener additions and two removals. The channels are
 * process-wide: each watcher keeps to its own server's requests.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const REQUEST_START = 'http.server.request.start';
const RESPONSE_FINISH = 'http.server.response.finish';

interface ServerMessage {
  request: IncomingMessage;
  response: ServerResponse;
  socket: Socket;
  server: object;
}

export type RequestEdge = (req: IncomingMessage, res: ServerResponse, socket: Socket) => void;

/** Calls `onStart` and `onFinish` for each HTTP/1 request of `server` until the returned function is called. */
export function watchRequestEdges(server: object, onStart: RequestEdge, onFinish: RequestEdge): () => void {
  const start = (message: unknown) => {
    const m = message as ServerMessage;
    if (m.server === server) onStart(m.request, m.response, m.socket);
  };
  const finish = (message: unknown) => {
    const m = message as ServerMessage;
    if (m.server === server) onFinish(m.request, m.response, m.socket);
  };
  subscribe(REQUEST_START, start);
  subscribe(RESPONSE_FINISH, finish);
  return () => {
    unsubscribe(REQUEST_START, start);
    unsubscribe(RESPONSE_FINISH, finish);
  };
}
