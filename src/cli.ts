/**
 * `vigil <command>`: dispatches to one module per command in src/cli/. Every
 * command declares its flags here, so `--help` (print help, do nothing else),
 * unknown flags (an error, not a silent default) and `--version` are handled
 * the same way for all of them before a command module is even loaded. A new
 * command is one entry in COMMANDS.
 */
import { VIGIL_VERSION } from './version.js';

interface Flag {
  /** Placeholder for the value; absent for boolean switches. */
  value?: string;
  help: string;
}

interface Command {
  args: string;
  summary: string;
  flags: Record<string, Flag>;
  load: () => Promise<{ run(args: string[]): Promise<number> }>;
}

const CONFIG: Flag = { value: 'FILE', help: 'vigil.yml to read' };
const SERVER: Flag = { value: 'URL', help: 'a running Vigil (default from --config, else http://127.0.0.1:9470)' };

export const COMMANDS: Record<string, Command> = {
  start: {
    args: '',
    summary: 'run Vigil (VIGIL_CONFIG or ./vigil.yml unless --config)',
    flags: { config: CONFIG },
    load: async () => {
      (await import('./cli/service-heap.js')).useServiceHeapSettings();
      return import('./cli/start.js');
    },
  },
  'check config': {
    args: 'FILE...',
    summary: 'run every check `vigil start` runs on the files (referenced files, rule globs, cross-field rules); list all errors',
    flags: {},
    load: () => import('./cli/check-config.js'),
  },
  'check rules': {
    args: 'FILE...',
    summary: 'validate Prometheus rule files (as promtool check rules)',
    flags: {
      'against-storage': { help: 'also flag selectors that match no stored series' },
      data: { value: 'DIR', help: 'data directory for --against-storage (default data)' },
      server: SERVER,
    },
    load: () => import('./cli/check-rules.js'),
  },
  'test rules': { args: 'TEST.yml...', summary: 'run rule unit tests (as promtool test rules)', flags: {}, load: () => import('./cli/test-rules.js') },
  'test promql': { args: 'PATH...', summary: 'run PromQL test scripts (promqltest format)', flags: {}, load: () => import('./cli/test-promql.js') },
  query: {
    args: 'EXPR',
    summary: 'evaluate PromQL against a running Vigil and print a table',
    flags: {
      time: { value: 'T', help: 'evaluation time (RFC 3339, unix seconds, now, now-1h)' },
      start: { value: 'T', help: 'range query start' },
      end: { value: 'T', help: 'range query end (default now)' },
      step: { value: 'D', help: 'range query step' },
      timeout: { value: 'D', help: 'query timeout' },
      server: SERVER,
      config: CONFIG,
      json: { help: 'print the raw JSON data' },
    },
    load: () => import('./cli/query.js'),
  },
  'tsdb import': {
    args: 'FILE',
    summary: 'backfill OpenMetrics text with timestamps into a data directory',
    flags: { data: { value: 'DIR', help: 'data directory (default data)' }, retention: { value: 'D', help: 'retention (default 15d)' } },
    load: () => import('./cli/tsdb-import.js'),
  },
  'tsdb check': {
    args: 'DIR',
    summary: 'report damaged blocks, chunks and WAL records in a data directory',
    flags: {},
    load: () => import('./cli/tsdb-check.js'),
  },
  'tsdb analyze': {
    args: 'DIR',
    summary: 'blocks, series, chunks, bytes per sample and the highest-cardinality names and labels',
    flags: { limit: { value: 'N', help: 'entries per list (default 20)' } },
    load: () => import('./cli/tsdb-analyze.js'),
  },
  'tsdb dump': {
    args: 'DIR',
    summary: 'print the samples of a data directory',
    flags: {
      match: { value: 'SELECTOR', help: 'series selector (repeatable)' },
      'min-time': { value: 'T', help: 'first timestamp (ms or RFC 3339)' },
      'max-time': { value: 'T', help: 'last timestamp' },
    },
    load: () => import('./cli/tsdb-dump.js'),
  },
  'routes test': {
    args: '[label=value...]',
    summary: 'print the receivers an alert routes to (as amtool config routes test)',
    flags: {
      config: { value: 'FILE', help: 'Alertmanager-format file' },
      'config.file': { value: 'FILE', help: 'same as --config (amtool spelling)' },
      'verify.receivers': { value: 'A,B', help: 'exit 1 unless exactly these receivers match' },
    },
    load: () => import('./cli/routes-test.js'),
  },
  'dashboards build': {
    args: '',
    summary: 'regenerate provisioning/ from src/dashboards',
    flags: {
      out: { value: 'DIR', help: 'output directory (default provisioning)' },
      'runbook-base': { value: 'URL', help: 'where runbooks are published' },
      check: { help: 'write nothing; exit 1 if the files are not current' },
    },
    load: () => import('./cli/dashboards-build.js'),
  },
  'dashboards push': {
    args: '',
    summary: 'upload the dashboards to Grafana (token in GRAFANA_TOKEN)',
    flags: {
      url: { value: 'URL', help: 'Grafana base URL' },
      folder: { value: 'NAME', help: 'folder to push into' },
      'runbook-base': { value: 'URL', help: 'where runbooks are published' },
      config: CONFIG,
    },
    load: () => import('./cli/dashboards-push.js'),
  },
  'slo generate': {
    args: '[FILE|GLOB...]',
    summary: 'write the rule files generated from SLO files',
    flags: {
      out: { value: 'DIR', help: 'output directory (default slos/generated)' },
      check: { help: 'write nothing; exit 1 if the files are not current' },
    },
    load: () => import('./cli/slo-generate.js'),
  },
  'jobs run': {
    args: 'NAME',
    summary: 'run a scheduled job now on a running Vigil (token in VIGIL_TOKEN)',
    flags: { server: SERVER, config: CONFIG },
    load: () => import('./cli/jobs-run.js'),
  },
};

const HELP_FLAGS = new Set(['--help', '-h']);

function commandHelp(name: string, c: Command): string {
  const flags: Array<[string, Flag]> = [...Object.entries(c.flags), ['help', { help: 'print this help and do nothing else' }]];
  const width = Math.max(...flags.map(([n, f]) => n.length + (f.value ? f.value.length + 1 : 0))) + 4;
  return [
    `usage: vigil ${name} [flags]${c.args ? ` ${c.args}` : ''}`,
    '',
    `  ${c.summary}`,
    '',
    'flags:',
    ...flags.map(([n, f]) => `  --${`${n}${f.value ? ` ${f.value}` : ''}`.padEnd(width)}${f.help}`),
  ].join('\n');
}

/** Commands under a first word (`vigil check --help` lists `check config` and `check rules`). */
function group(word: string): string[] {
  return Object.keys(COMMANDS).filter((n) => n.split(' ')[0] === word);
}

export function usage(names = Object.keys(COMMANDS)): string {
  const w = Math.max(...names.map((n) => n.length + (COMMANDS[n].args ? COMMANDS[n].args.length + 1 : 0))) + 2;
  return [
    'usage: vigil <command> [flags] [args]',
    '',
    'commands:',
    ...names.map((n) => `  ${`${n}${COMMANDS[n].args ? ` ${COMMANDS[n].args}` : ''}`.padEnd(w)}${COMMANDS[n].summary}`),
    '',
    '`vigil <command> --help` shows a command\'s flags; `vigil --version` prints the version.',
  ].join('\n');
}

/** The first unknown flag, or a value flag without its value, as an error message. */
function flagError(c: Command, args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return undefined;
    if (!a.startsWith('-') || a === '-') continue;
    const eq = a.indexOf('=');
    const name = (eq > 0 ? a.slice(0, eq) : a).replace(/^--?/, '');
    const f = c.flags[name];
    if (!f || !a.startsWith('--')) return `unknown flag: ${eq > 0 ? a.slice(0, eq) : a}`;
    if (f.value && eq < 0) {
      if (i + 1 >= args.length || (args[i + 1].startsWith('--') && args[i + 1].length > 2)) return `flag --${name} needs a value (${f.value})`;
      i++;
    }
    if (!f.value && eq > 0) return `flag --${name} takes no value`;
  }
  return undefined;
}

export async function main(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  if (argv.length === 0) {
    err(usage());
    return 2;
  }
  if (HELP_FLAGS.has(argv[0]) || argv[0] === 'help') {
    const topic = argv.slice(1).join(' ');
    if (topic && COMMANDS[topic]) out(commandHelp(topic, COMMANDS[topic]));
    else out(usage());
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    out(`vigil ${VIGIL_VERSION} (node ${process.versions.node})`);
    return 0;
  }
  const two = `${argv[0]} ${argv[1] ?? ''}`;
  const [name, rest] = COMMANDS[two] ? [two, argv.slice(2)] : [argv[0], argv.slice(1)];
  const cmd = COMMANDS[name];
  if (!cmd) {
    const sub = group(argv[0]);
    if (sub.length && (argv.length === 1 || HELP_FLAGS.has(argv[1]))) {
      const text = usage(sub);
      if (argv.length === 1) {
        err(`vigil ${argv[0]}: give a subcommand\n\n${text}`);
        return 2;
      }
      out(text);
      return 0;
    }
    err(`unknown command: ${argv.join(' ')}\n\n${usage()}`);
    return 2;
  }
  const dashdash = rest.indexOf('--');
  const own = dashdash < 0 ? rest : rest.slice(0, dashdash);
  if (own.some((a) => HELP_FLAGS.has(a))) {
    out(commandHelp(name, cmd));
    return 0;
  }
  const bad = flagError(cmd, rest);
  if (bad) {
    err(`vigil ${name}: ${bad}\n\n${commandHelp(name, cmd)}`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.run(rest);
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
    },
  );
}
