/**
 * `vigil tsdb check DIR`: verifies every checksum of a data directory (block
 * indexes and chunks, WAL records) and lists what is damaged. Read-only.
 * Exit code 0: nothing damaged; 1: damage found (or the directory is unusable).
 */
import { checkDataDir } from '../tsdb/check.js';
import { describeLabels } from '../tsdb/errors.js';
import { parseArgs } from './args.js';

const MAX_LISTED = 20;

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args);
  if (p.positional.length !== 1) {
    console.error('usage: vigil tsdb check DIR');
    return 2;
  }
  const dir = p.positional[0];
  let report;
  try {
    report = checkDataDir(dir);
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  for (const b of report.blocks) {
    if (b.indexProblem) {
      const r = b.recoverable!;
      console.log(`DAMAGED ${b.file}: index: ${b.indexProblem}; a scan finds ${r.chunks} intact chunks (${r.samples} samples), which Vigil recovers at start-up`);
      continue;
    }
    const lost = b.damagedChunks.reduce((a, c) => a + c.samples, 0);
    const state = b.damagedChunks.length ? `DAMAGED ${b.damagedChunks.length} of ${b.chunks} chunks (${lost} of ${b.samples} samples)` : 'ok';
    console.log(`${b.file}: ${b.series} series, ${b.chunks} chunks, ${b.samples} samples: ${state}`);
    for (const c of b.damagedChunks.slice(0, MAX_LISTED)) console.log(`  chunk at byte ${c.offset} of ${describeLabels(c.labels)}: ${c.problem} (${c.samples} samples)`);
    if (b.damagedChunks.length > MAX_LISTED) console.log(`  ... ${b.damagedChunks.length - MAX_LISTED} more`);
  }
  for (const w of report.wal) {
    const tail = w.tornTail ? '; ends in a torn record (unclean shutdown, the partial commit is dropped)' : '';
    console.log(`wal/${w.segment}: ${w.records} records${w.damaged.length ? `, DAMAGED ${w.damaged.length}` : ', ok'}${tail}`);
    for (const d of w.damaged.slice(0, MAX_LISTED)) console.log(`  record at byte ${d.offset}: ${d.problem}`);
  }
  for (const f of report.setAside) console.log(`set aside earlier: ${f}`);
  console.log(report.damage ? `${report.damage} damaged unit(s) found` : 'no damage found');
  return report.damage ? 1 : 0;
}
