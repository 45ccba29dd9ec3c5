/**
 * `vigil <command>`: dispatches to one module per command in src/cli/.
 * Each command returns its exit code; errors print without a stack trace.
 */
type Command = { usage: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  start: { usage: 'start [--config vigil.yml]', load: () => import('./cli/start.js') },
  'check config': { usage: 'check config FILE', load: () => import('./cli/check-config.js') },
  'check rules': { usage: 'check rules [--against-storage] FILE...', load: () => import('./cli/check-rules.js') },
  'test rules': { usage: 'test rules TEST.yml...', load: () => import('./cli/test-rules.js') },
  'test promql': { usage: 'test promql PATH...', load: () => import('./cli/test-promql.js') },
  query: { usage: 'query EXPR [--start T --end T --step D] [--server URL | --config FILE]', load: () => import('./cli/query.js') },
  'tsdb import': { usage: 'tsdb import FILE [--data DIR] [--retention 15d]', load: () => import('./cli/tsdb-import.js') },
  'tsdb check': { usage: 'tsdb check DIR', load: () => import('./cli/tsdb-check.js') },
  'tsdb analyze': { usage: 'tsdb analyze DIR [--limit N]', load: () => import('./cli/tsdb-analyze.js') },
  'tsdb dump': { usage: 'tsdb dump DIR [--match SELECTOR] [--min-time T] [--max-time T]', load: () => import('./cli/tsdb-dump.js') },
  'routes test': { usage: 'routes test --config FILE [label=value...]', load: () => import('./cli/routes-test.js') },
  'dashboards build': { usage: 'dashboards build [--out provisioning]', load: () => import('./cli/dashboards-build.js') },
  'dashboards push': { usage: 'dashboards push --url URL [--folder NAME]', load: () => import('./cli/dashboards-push.js') },
  'slo generate': { usage: 'slo generate [FILE|GLOB...] [--out slos/generated] [--check]', load: () => import('./cli/slo-generate.js') },
  'jobs run': { usage: 'jobs run NAME [--config FILE]', load: () => import('./cli/jobs-run.js') },
};

function usage(): string {
  return ['usage: vigil <command>', '', ...Object.values(COMMANDS).map((c) => `  vigil ${c.usage}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(usage());
    return argv.length === 0 ? 2 : 0;
  }
  const two = `${argv[0]} ${argv[1] ?? ''}`;
  const [name, rest] = COMMANDS[two] ? [two, argv.slice(2)] : [argv[0], argv.slice(1)];
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`unknown command: ${argv.join(' ')}\n\n${usage()}`);
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
    (err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    },
  );
}
