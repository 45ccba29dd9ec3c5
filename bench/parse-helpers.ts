import { createServer } from 'node:net';
export { findBinary } from '../test/helpers/services.js';

/** A free loopback port for a binary that needs one up front. */
export function freePortless(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
