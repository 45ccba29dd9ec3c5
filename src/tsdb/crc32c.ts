/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * Prometheus' chunks, index and WAL records: better error detection than
 * CRC-32 on the short records a store writes. Slicing-by-8 tables: block
 * reads checksum every chunk they touch, so byte-at-a-time was too slow.
 */
const POLY = 0x82f63b78;
const TABLES: Uint32Array[] = [];

function buildTables(): void {
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  TABLES.push(t0);
  for (let i = 1; i < 8; i++) {
    const prev = TABLES[i - 1];
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) t[n] = ((prev[n] >>> 8) ^ t0[prev[n] & 0xff]) >>> 0;
    TABLES.push(t);
  }
}
buildTables();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

/** CRC-32C of `buf`, continuing from `crc` (the result of a previous call) when given. */
export function crc32c(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const n = buf.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a = (c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24))) >>> 0;
    c =
      T7[a & 0xff] ^
      T6[(a >>> 8) & 0xff] ^
      T5[(a >>> 16) & 0xff] ^
      T4[a >>> 24] ^
      T3[buf[i + 4]] ^
      T2[buf[i + 5]] ^
      T1[buf[i + 6]] ^
      T0[buf[i + 7]];
    i += 8;
  }
  while (i < n) c = T0[(c ^ buf[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
