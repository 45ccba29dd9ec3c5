/**
 * Prometheus remote write 1.0 messages (prompb.WriteRequest), encoded with
 * protobufjs from a schema declared here, and compressed with snappy's block
 * format, as the protocol requires.
 */
import protobuf from 'protobufjs';
import { compressSync, uncompressSync } from 'snappy';

/** prompb/types.proto and prompb/remote.proto, the parts remote write 1.0 uses. */
const schema = {
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          fields: {
            timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 },
            metadata: { rule: 'repeated', type: 'MetricMetadata', id: 3 },
          },
        },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
          },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        MetricMetadata: {
          fields: {
            type: { type: 'MetricType', id: 1 },
            metric_family_name: { type: 'string', id: 2 },
            help: { type: 'string', id: 4 },
            unit: { type: 'string', id: 5 },
          },
          nested: {
            MetricType: {
              values: { UNKNOWN: 0, COUNTER: 1, GAUGE: 2, HISTOGRAM: 3, GAUGEHISTOGRAM: 4, SUMMARY: 5, INFO: 6, STATESET: 7 },
            },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(schema);
const WriteRequestType = root.lookupType('prometheus.WriteRequest');

export interface ProtoLabel {
  name: string;
  value: string;
}
export interface ProtoSample {
  value: number;
  /** Unix ms. */
  timestamp: number;
}
export interface ProtoTimeSeries {
  /** Sorted by name, as the protocol requires. */
  labels: ProtoLabel[];
  samples: ProtoSample[];
}
export interface ProtoMetadata {
  type: number;
  metric_family_name: string;
  help: string;
  unit: string;
}
export interface WriteRequest {
  timeseries: ProtoTimeSeries[];
  metadata?: ProtoMetadata[];
}

export const METRIC_TYPES: Record<string, number> = {
  unknown: 0,
  untyped: 0,
  counter: 1,
  gauge: 2,
  histogram: 3,
  gaugehistogram: 4,
  summary: 5,
  info: 6,
  stateset: 7,
};

/** Protobuf bytes of a WriteRequest (uncompressed). */
export function encodeWriteRequest(req: WriteRequest): Uint8Array {
  return WriteRequestType.encode(req as unknown as protobuf.Message).finish();
}

/** The HTTP body: snappy-compressed protobuf. */
export function encodeWriteBody(req: WriteRequest): Buffer {
  const raw = encodeWriteRequest(req);
  return compressSync(Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
}

/** Decodes a snappy-compressed WriteRequest body (tests and the benchmark's receiver). */
export function decodeWriteBody(body: Uint8Array): WriteRequest {
  const raw = uncompressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength)) as Buffer;
  const msg = WriteRequestType.decode(raw);
  const obj = WriteRequestType.toObject(msg, { longs: Number, defaults: true, arrays: true }) as WriteRequest;
  return obj;
}
