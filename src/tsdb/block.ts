import { ByteWriter } from './bytes.js';
import { beginRecord, endRecord, readLabels, readRecords, RecordType, writeLabels } from './records.js';
import type { Labels } from './types.js';

/**
 * Block files (`<data>/blocks/NNNNNNNN.vtb`): immutable sets of closed chunks,
 * written by checkpoints and merged by compaction. Layout, all in checksummed
 * records: Header (magic, version), then per series a Series record (file-local
 * ref, labels) followed by its Chunk records, then a Footer with totals that
 * proves the file is complete.
 */
const MAGIC = 'vigil-tsdb-block';
const VERSION = 1;

export interface StoredChunk {
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly minT: number;
  readonly maxT: number;
}

export interface BlockSummary {
  minT: number;
  maxT: number;
  series: number;
  chunks: number;
  samples: number;
}

export function encodeBlock(series: Iterable<{ labels: Labels; chunks: readonly StoredChunk[] }>): { data: Uint8Array; summary: BlockSummary } {
  const w = new ByteWriter(1 << 16);
  const summary: BlockSummary = { minT: Infinity, maxT: -Infinity, series: 0, chunks: 0, samples: 0 };
  let rec = beginRecord(w, RecordType.Header);
  w.string(MAGIC);
  w.uvarint(VERSION);
  endRecord(w, rec);
  for (const s of series) {
    if (s.chunks.length === 0) continue;
    const ref = ++summary.series;
    rec = beginRecord(w, RecordType.Series);
    w.uvarint(ref);
    writeLabels(w, s.labels);
    endRecord(w, rec);
    for (const c of s.chunks) {
      rec = beginRecord(w, RecordType.Chunk);
      w.uvarint(ref);
      w.varint(c.minT);
      w.varint(c.maxT);
      w.uvarint(c.count);
      w.bytes(c.bytes);
      endRecord(w, rec);
      summary.chunks++;
      summary.samples += c.count;
      if (c.minT < summary.minT) summary.minT = c.minT;
      if (c.maxT > summary.maxT) summary.maxT = c.maxT;
    }
  }
  rec = beginRecord(w, RecordType.Footer);
  w.varint(Number.isFinite(summary.minT) ? summary.minT : 0);
  w.varint(Number.isFinite(summary.maxT) ? summary.maxT : 0);
  w.uvarint(summary.series);
  w.uvarint(summary.chunks);
  w.uvarint(summary.samples);
  endRecord(w, rec);
  return { data: w.result(), summary };
}

export interface DecodedBlock {
  summary: BlockSummary;
  /** Set when the file is damaged; the chunks delivered before the damage are intact. */
  problem?: string;
}

/** Streams a block's series and chunks to the callbacks; never throws on bad content. */
export function decodeBlock(data: Uint8Array, onChunk: (labels: Labels, chunk: StoredChunk) => void): DecodedBlock {
  const summary: BlockSummary = { minT: Infinity, maxT: -Infinity, series: 0, chunks: 0, samples: 0 };
  const refs = new Map<number, Labels>();
  let sawHeader = false;
  let footer: BlockSummary | undefined;
  let problem: string | undefined;
  const frameProblem = readRecords(data, (type, r) => {
    if (footer) throw new Error('record after the footer');
    if (!sawHeader) {
      if (type !== RecordType.Header) throw new Error('not a block file (no header)');
      const magic = r.string();
      const version = r.uvarint();
      if (magic !== MAGIC) throw new Error('not a block file (bad magic)');
      if (version !== VERSION) throw new Error(`unsupported block version ${version}`);
      sawHeader = true;
      return;
    }
    switch (type) {
      case RecordType.Series: {
        const ref = r.uvarint();
        refs.set(ref, Object.freeze(readLabels(r)));
        summary.series++;
        return;
      }
      case RecordType.Chunk: {
        const ref = r.uvarint();
        const labels = refs.get(ref);
        if (!labels) throw new Error(`chunk for unknown series ref ${ref}`);
        const minT = r.varint();
        const maxT = r.varint();
        const count = r.uvarint();
        const bytes = r.bytes();
        if (count === 0 || minT > maxT) throw new Error('implausible chunk bounds');
        onChunk(labels, { bytes: bytes.slice(), count, minT, maxT });
        summary.chunks++;
        summary.samples += count;
        if (minT < summary.minT) summary.minT = minT;
        if (maxT > summary.maxT) summary.maxT = maxT;
        return;
      }
      case RecordType.Footer: {
        footer = { minT: r.varint(), maxT: r.varint(), series: r.uvarint(), chunks: r.uvarint(), samples: r.uvarint() };
        return;
      }
      default:
        throw new Error(`unknown record type ${type}`);
    }
  });
  if (frameProblem) problem = `${frameProblem.reason} at byte ${frameProblem.offset}`;
  else if (!sawHeader) problem = 'empty file';
  else if (!footer) problem = 'missing footer (file incomplete)';
  else if (footer.chunks !== summary.chunks || footer.samples !== summary.samples) {
    problem = `footer totals (${footer.chunks} chunks) do not match content (${summary.chunks} chunks)`;
  }
  return { summary, problem };
}
