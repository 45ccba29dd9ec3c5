import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlockFormatError, BlockReader, parseChunkRecord, scanBlock } from './block/format.js';
import { listSequenced } from './files.js';
import { readFrame, RecordType, resync } from './records.js';
import type { Labels } from './types.js';

export interface DamagedChunk {
  labels: Labels;
  /** File offset of the chunk record. */
  offset: number;
  samples: number;
  problem: string;
}

export interface BlockCheck {
  file: string;
  series: number;
  chunks: number;
  samples: number;
  /** Set when the block's index (trailer, footer, series index) is damaged. */
  indexProblem?: string;
  /** With a damaged index: what a recovery scan finds intact. */
  recoverable?: { chunks: number; samples: number };
  damagedChunks: DamagedChunk[];
}

export interface WalCheck {
  segment: string;
  records: number;
  damaged: Array<{ offset: number; problem: string }>;
  /** The newest segment ends in a partial record (normal after a crash). */
  tornTail: boolean;
}

export interface CheckReport {
  blocks: BlockCheck[];
  wal: WalCheck[];
  /** Files set aside earlier as damaged. */
  setAside: string[];
  /** Damaged units found now (chunks, indexes, WAL records). */
  damage: number;
}

/**
 * Verifies every checksum of a data directory: each block's index and every
 * chunk it lists, and every WAL record. Read-only; safe while Vigil runs.
 */
export function checkDataDir(dir: string): CheckReport {
  const report: CheckReport = { blocks: [], wal: [], setAside: [], damage: 0 };
  const blocksDir = join(dir, 'blocks');
  const walDir = join(dir, 'wal');
  if (!existsSync(blocksDir) && !existsSync(walDir)) throw new Error(`${dir}: not a Vigil data directory (no blocks/ or wal/)`);
  if (existsSync(blocksDir)) {
    for (const f of readdirSync(blocksDir).sort()) if (f.endsWith('.corrupt')) report.setAside.push(join(blocksDir, f));
    for (const { seq, name } of listSequenced(blocksDir, '.vtb')) {
      const c = checkBlock(join(blocksDir, name), seq);
      report.damage += c.damagedChunks.length + (c.indexProblem ? 1 : 0);
      report.blocks.push(c);
    }
  }
  if (existsSync(walDir)) {
    const segs = listSequenced(walDir, '');
    segs.forEach((s, i) => {
      const c = checkSegment(join(walDir, s.name), s.name, i === segs.length - 1);
      report.damage += c.damaged.length;
      report.wal.push(c);
    });
  }
  return report;
}

export function checkBlock(path: string, seq: number): BlockCheck {
  const labels: Labels[] = [];
  const out: BlockCheck = { file: path, series: 0, chunks: 0, samples: 0, damagedChunks: [] };
  let b: BlockReader;
  try {
    b = BlockReader.open(path, seq, (_i, e) => labels.push(e.labels));
  } catch (err) {
    out.indexProblem = err instanceof BlockFormatError ? err.message : (err as Error).message;
    const rec = { chunks: 0, samples: 0 };
    try {
      scanBlock(
        path,
        (_l, c) => {
          rec.chunks++;
          rec.samples += c.count;
        },
        () => {},
      );
    } catch {
      // unreadable file: nothing recoverable
    }
    out.recoverable = rec;
    return out;
  }
  try {
    out.series = b.summary.series;
    out.chunks = b.summary.chunks;
    out.samples = b.summary.samples;
    const region = b.readAllMetas();
    for (let idx = 0; idx < labels.length; idx++) {
      const metas = b.metas(idx, region);
      if (!metas) {
        out.damagedChunks.push({ labels: labels[idx], offset: b.metaOffset[idx], samples: b.seriesSamples[idx], problem: 'damaged chunk index entry' });
        continue;
      }
      if (metas.length === 0) continue;
      const buf = b.readRun(metas);
      const base = metas[0].offset;
      for (const m of metas) {
        const at = m.offset - base;
        const c = at + m.length <= buf.length ? parseChunkRecord(buf.subarray(0, at + m.length), at, m) : 'block file shorter than its index';
        if (typeof c === 'string') out.damagedChunks.push({ labels: labels[idx], offset: m.offset, samples: m.count, problem: c });
      }
    }
  } finally {
    b.close();
  }
  return out;
}

function checkSegment(path: string, name: string, newest: boolean): WalCheck {
  const out: WalCheck = { segment: name, records: 0, damaged: [], tornTail: false };
  const data = readFileSync(path);
  let off = 0;
  while (off < data.length) {
    const f = readFrame(data, off);
    if (f.ok) {
      if (f.type !== RecordType.Series && f.type !== RecordType.Samples && f.type !== RecordType.HeadChunk && f.type !== RecordType.HistogramSamples) {
        out.damaged.push({ offset: off, problem: `unknown record type ${f.type}` });
      } else out.records++;
      off = f.next;
      continue;
    }
    const next = resync(data, off);
    if (next === undefined && f.torn && newest) {
      out.tornTail = true;
      break;
    }
    out.damaged.push({ offset: off, problem: f.reason });
    if (next === undefined) break;
    off = next;
  }
  return out;
}
