/**
 * The span start times Gavel stores. `otel_traces.Timestamp` (DateTime64(9)) reaches 2262, but
 * `otel_traces_trace_id_ts` (the exporter's trace-id → time-range table, which opening a
 * trace reads) keeps seconds in a 32-bit DateTime, whose last second is 2106-02-07T06:28:15Z,
 * and the trace lookup reads up to one second past a trace's last start. A span starting
 * later would be stored but its trace could never be opened, so both decoders refuse it
 * (and the protobuf transcoder leaves such a body to the decoder).
 */
export const MAX_START_TIME_UNIX_NANO = 4_294_967_294_999_999_999n;
export const MAX_START_TIME_HI = Number(MAX_START_TIME_UNIX_NANO >> 32n);
export const MAX_START_TIME_LO = Number(MAX_START_TIME_UNIX_NANO & 0xffffffffn);

/** Why a span with this start time is refused, or undefined when it is stored. */
export function startTimeReason(start: bigint, field: string): string | undefined {
  if (start <= MAX_START_TIME_UNIX_NANO) return undefined;
  return `${field} ${start} is after 2106-02-07T06:28:14Z, the latest start time Gavel can store; send nanoseconds since 1970-01-01 (about 1.7e18 today)`;
}
