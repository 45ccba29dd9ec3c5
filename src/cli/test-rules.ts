/** `vigil test rules TEST.yml...`: promtool-compatible rule unit tests. */
import { runRuleTests } from '../alerts/rules/unittest.js';
import { parseArgs } from './args.js';

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args);
  if (p.positional.length === 0) {
    console.error('usage: vigil test rules TEST.yml...');
    return 2;
  }
  return runRuleTests(
    p.positional,
    (s) => process.stdout.write(s + '\n'),
    (s) => process.stderr.write(s + '\n'),
  );
}
