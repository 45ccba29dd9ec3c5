import { loadConfig } from '../config/index.js';
import { flagString, parseArgs } from './args.js';

/**
 * `vigil jobs run NAME`: asks the running Vigil to run a job now and waits for
 * the outcome. The token comes from VIGIL_TOKEN, never from the command line.
 */
export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  const name = parsed.positional[0];
  if (!name) {
    console.error('usage: vigil jobs run NAME [--server URL | --config vigil.yml]');
    return 2;
  }
  let server = flagString(parsed, 'server');
  if (!server) {
    const { config } = loadConfig(flagString(parsed, 'config', 'vigil.yml')!);
    server = `http://${config.server.listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
  }
  const headers: Record<string, string> = {};
  if (process.env.VIGIL_TOKEN) headers.authorization = `Bearer ${process.env.VIGIL_TOKEN}`;
  let res: Response;
  try {
    res = await fetch(new URL(`/api/v1/jobs/${encodeURIComponent(name)}/run`, server), { method: 'POST', headers });
  } catch (err) {
    console.error(`cannot reach Vigil at ${server}: ${(err as Error).message}`);
    return 1;
  }
  const body = (await res.json().catch(() => ({}))) as { data?: { message?: string; durationMs?: number }; error?: string };
  if (res.ok) {
    console.log(`${name}: success in ${body.data?.durationMs ?? '?'}ms: ${body.data?.message ?? ''}`);
    return 0;
  }
  console.error(`${name}: ${body.error ?? `HTTP ${res.status}`}`);
  return 1;
}
