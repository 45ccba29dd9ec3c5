/**
 * CLI conventions: --help on every command and subcommand prints help and does
 * nothing else (no command module runs), unknown flags are errors, --version.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../../src/cli.js';
import { VIGIL_VERSION } from '../../src/version.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('vigil CLI', () => {
  it.each(Object.keys(COMMANDS))('vigil %s --help prints its help and runs nothing', async (name) => {
    for (const h of ['--help', '-h']) {
      // `start --help` must not start; a config flag next to it changes nothing.
      const r = await cli(...name.split(' '), h, '--config', '/nonexistent/vigil.yml');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: vigil ${name}`));
      expect(r.out).toContain('--help');
      expect(r.err).toBe('');
    }
  });

  it('command groups answer --help with their subcommands', async () => {
    for (const word of ['check', 'test', 'dashboards']) {
      const r = await cli(word, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`${word} `);
    }
    const bare = await cli('check');
    expect(bare.code).toBe(2);
    expect(bare.err).toMatch(/give a subcommand/);
  });

  it('an unknown or misspelt flag is an error, not a silent default', async () => {
    const r = await cli('start', '--confg', 'x.yml');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^vigil start: unknown flag: --confg/);
    expect((await cli('check', 'config', '--strict', 'x.yml')).err).toMatch(/unknown flag: --strict/);
    expect((await cli('query', '--json=yes', 'up')).err).toMatch(/--json takes no value/);
    expect((await cli('tsdb', 'import', 'f', '--data')).err).toMatch(/--data needs a value/);
    expect((await cli('routes', 'test', '-x')).err).toMatch(/unknown flag: -x/);
  });

  it('--version prints the package version; help lists every command', async () => {
    const v = await cli('--version');
    expect(v.code).toBe(0);
    expect(v.out).toMatch(new RegExp(`^vigil ${VIGIL_VERSION.replace(/\./g, '\\.')} `));
    const h = await cli('--help');
    for (const name of Object.keys(COMMANDS)) expect(h.out).toContain(name);
    expect((await cli()).code).toBe(2);
    expect((await cli('bogus')).err).toMatch(/unknown command: bogus/);
  });
});
