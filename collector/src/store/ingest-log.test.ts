// The ingest log on a real directory: segments come and go with the batches, and what a crash
// leaves behind is read back exactly up to the last complete request.
import { afterEach, describe, expect, it } from "vitest";
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IngestLog } from "./ingest-log.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "gavel-ingest-log-"));
  dirs.push(d);
  return join(d, "log");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const bytes = (s: string) => Buffer.from(s, "latin1");

describe("IngestLog", () => {
  it("keeps a segment until every request in it is stored and it is no longer the one written to", () => {
    const dir = tempDir();
    const { log, recovery } = IngestLog.open(dir);
    expect(recovery.segments).toEqual([]);
    const buf = bytes("xxAAAABBByy");
    const a = log.append(buf, 2, 6, 4);
    const b = log.append(buf, 6, 9, 3);
    expect(a).toBe(b);
    log.stored(a);
    log.stored(b);
    // All stored, but still the current segment: the next request goes there.
    expect(readdirSync(dir).sort()).toEqual([`${a}.index`, `${a}.rows`]);
    log.rotate();
    expect(readdirSync(dir)).toEqual([]);

    const c = log.append(buf, 2, 6, 4);
    expect(c).toBe(a + 1);
    log.rotate();
    expect(readdirSync(dir).sort()).toEqual([`${c}.index`, `${c}.rows`]);
    log.stored(c);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("gives back what a crashed run left, in order, and leaves out a request cut short", () => {
    const dir = tempDir();
    const first = IngestLog.open(dir).log;
    const s1 = first.append(bytes("AAAA"), 0, 4, 4);
    first.rotate();
    const s2 = first.append(bytes("BBB"), 0, 3, 3);
    first.append(bytes("CC"), 0, 2, 2);
    // The crash lands while a third request is written: its rows are there, its record is not
    // complete (or its bytes do not match it).
    appendFileSync(join(dir, `${s2}.rows`), bytes("DDDD"));
    appendFileSync(join(dir, `${s2}.index`), Buffer.from([4, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4]));

    const { log, recovery } = IngestLog.open(dir);
    expect(recovery.segments.map((s) => [s.segment, s.rows.map((r) => [r.body.toString("latin1"), r.rows])])).toEqual([
      [s1, [["AAAA", 4]]],
      [s2, [["BBB", 3], ["CC", 2]]],
    ]);
    expect(recovery.droppedTails).toBe(1);
    for (const s of recovery.segments) log.removeRecovered(s.segment);
    expect(readdirSync(dir)).toEqual([]);
    // New segments never reuse a recovered one's number.
    expect(log.append(bytes("E"), 0, 1, 1)).toBe(s2 + 1);
  });

  it("drops rows whose index was never written: no request of them was acknowledged", () => {
    const dir = tempDir();
    IngestLog.open(dir);
    writeFileSync(join(dir, "7.rows"), bytes("ZZZ"));
    const { recovery } = IngestLog.open(dir);
    expect(recovery.segments).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("keeps refused rows in a file of their own beside the log", () => {
    const dir = tempDir();
    const { log } = IngestLog.open(dir);
    const file = log.keepRejected(bytes("RRR"));
    expect(file.startsWith(join(dir, "rejected-"))).toBe(true);
    expect(readdirSync(dir)).toHaveLength(1);
    // A later start does not take it for a segment.
    expect(IngestLog.open(dir).recovery.segments).toEqual([]);
  });
});
