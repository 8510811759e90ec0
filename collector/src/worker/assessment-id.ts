import { createHash } from "node:crypto";

/**
 * The id of a registered judge's assessment of a trace: the same trace, judge name and
 * version always give the same id, so a retry, a restart, a backfill or two workers racing
 * write versions of ONE assessment (ReplacingMergeTree keeps the latest), never a second one.
 * A hash rather than the parts spelled out: names are free text up to 256 characters.
 */
export function judgeAssessmentId(traceId: string, name: string, version: number): string {
  return `j-${createHash("sha256").update(`${traceId}\0${name}\0${version}`).digest("hex").slice(0, 32)}`;
}

/** The same id computed in ClickHouse, for `traceExpr` and two query placeholders. */
export function judgeAssessmentIdSql(traceExpr: string, nameParam: string, versionParam: string): string {
  return `concat('j-', substring(lower(hex(SHA256(concat(${traceExpr}, '\\0', ${nameParam}, '\\0', toString(${versionParam}))))), 1, 32))`;
}

/**
 * The id of a registered `{{ conversation }}` judge's assessment of a session: one per session,
 * judge name and version (stored on the session's first trace), so a restart or two workers
 * write versions of one assessment, and a re-score after new turns replaces it.
 */
export function sessionAssessmentId(sessionId: string, name: string, version: number): string {
  return `s-${createHash("sha256").update(`session\0${sessionId}\0${name}\0${version}`).digest("hex").slice(0, 32)}`;
}

/** The same id computed in ClickHouse. */
export function sessionAssessmentIdSql(sessionExpr: string, nameParam: string, versionParam: string): string {
  return `concat('s-', substring(lower(hex(SHA256(concat('session\\0', ${sessionExpr}, '\\0', ${nameParam}, '\\0', toString(${versionParam}))))), 1, 32))`;
}
