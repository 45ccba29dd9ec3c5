/**
 * Terminal output of the demo: one timestamped line per event, tagged with
 * where it came from, and Vigil's own log reduced to warnings and errors in
 * the same format (no JSON lines in the way of the story).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../src/logger.js';

const tty = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const c = {
  bold: paint(1),
  dim: paint(2),
  red: paint(31),
  green: paint(32),
  yellow: paint(33),
  blue: paint(34),
  magenta: paint(35),
  cyan: paint(36),
};

const sourceColor: Record<string, (s: string) => string> = {
  demo: c.dim,
  api: c.blue,
  traffic: c.blue,
  vigil: c.cyan,
  alert: c.yellow,
  slack: c.magenta,
  email: c.magenta,
};

const started = Date.now();

function stamp(): string {
  const now = new Date();
  const secs = ((now.getTime() - started) / 1000).toFixed(1).padStart(5);
  return `${now.toISOString().slice(11, 23)} +${secs}s`;
}

export function log(source: string, message: string): void {
  const tag = (sourceColor[source] ?? ((s: string) => s))(source.padEnd(7));
  process.stdout.write(`${c.dim(stamp())}  ${tag}  ${message}\n`);
}

export function banner(title: string): void {
  process.stdout.write(`\n${c.bold(`== ${title} ==`)}\n`);
}

/** Vigil's logger for the demo: warnings and errors only, one readable line each. */
export function quietLogger(): Logger {
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        try {
          const o = JSON.parse(line) as Record<string, unknown>;
          const extra = o.err ? `: ${typeof o.err === 'object' ? String((o.err as { message?: string }).message ?? '') : String(o.err)}` : '';
          log('vigil', `${String(o.level).toUpperCase()} ${String(o.msg ?? '')}${extra}${o.component ? c.dim(` (${String(o.component)})`) : ''}`);
        } catch {
          log('vigil', line);
        }
      }
      done();
    },
  });
  return pino({ level: process.env.VIGIL_LOG_LEVEL ?? 'warn', formatters: { level: (label: string) => ({ level: label }) } }, out);
}
