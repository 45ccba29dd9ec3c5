/* global process */
/**
 * Preloaded (`node --import`) into a server that a test spawns with stdin as a
 * pipe: when the test process goes away without stopping it (killed, or its
 * run interrupted), the pipe closes and this process exits, instead of running
 * on and scraping or answering on ports that a later run may be given.
 */
import { isMainThread } from 'node:worker_threads';

// Worker threads inherit the preload, but not the pipe: their stdin ends at once.
if (isMainThread) {
  process.stdin.on('end', () => process.exit(1));
  process.stdin.on('error', () => process.exit(1));
  process.stdin.resume();
  // Only the server's own handles decide how long it lives.
  process.stdin.unref();
}
