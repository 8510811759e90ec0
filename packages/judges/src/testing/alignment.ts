// Test-only fixtures for the alignment tests (excluded from the build): labelled traces and
// simulator request helpers.
import { promptParts, type RecordedRequest } from "../../../../test/simulator/src/index.js";
import type { LabelledAssessment, PlainLabelledTrace } from "../alignment/types.js";

export const JUDGE_NAME = "support_quality";

export const SUPPORT = [
  "Evaluate the quality of this customer support response.",
  "Rate as one of: good, poor",
  "Focus on {{ outputs }} responding to {{ inputs }}.",
].join("\n");

export function human(value: unknown, opts: { sourceId?: string; at?: number; valid?: boolean; name?: string; rationale?: string } = {}): LabelledAssessment {
  return {
    name: opts.name ?? JUDGE_NAME,
    value,
    source: { sourceType: "HUMAN", sourceId: opts.sourceId ?? "alice" },
    valid: opts.valid ?? true,
    createTimeMs: opts.at ?? 1000,
    ...(opts.rationale ? { rationale: opts.rationale } : {}),
  };
}

/** A labelled trace whose inputs say `case <id>`, so a simulator handler can tell examples apart. */
export function labelled(id: string, label: string, issue = "a question", extra: Partial<PlainLabelledTrace> = {}): PlainLabelledTrace {
  return {
    traceId: id,
    inputs: { issue: `case ${id}: ${issue}` },
    outputs: { response: `We looked into case ${id}.` },
    assessments: [human(label, { rationale: `${label} because of ${issue}` })],
    ...extra,
  };
}

const TOPICS = ["billing error", "password reset", "refund request", "slow website", "feature idea", "login trouble"];

/** n traces; the human rule: billing or refund issues are "poor", everything else "good". */
export function supportDataset(n: number, prefix = "t"): PlainLabelledTrace[] {
  return Array.from({ length: n }, (_, i) => {
    const topic = TOPICS[i % TOPICS.length]!;
    const label = /billing|refund/.test(topic) ? "poor" : "good";
    return labelled(`${prefix}${i}`, label, topic);
  });
}

export const schemaName = (req: RecordedRequest): string | undefined =>
  req.body?.response_format?.json_schema?.name ?? req.body?.tool_choice?.name ?? req.body?.tool_choice?.function?.name;

export const isJudgeCall = (req: RecordedRequest) => schemaName(req) === "judge_result";

/** The `case <id>` of the first user message (the judged data). */
export function caseId(req: RecordedRequest): string | undefined {
  return /case (\w+)/.exec(promptParts(req).firstUserText)?.[1];
}

export function systemText(req: RecordedRequest): string {
  return promptParts(req).systemText;
}

export function userText(req: RecordedRequest): string {
  return promptParts(req).firstUserText;
}

export const answer = (result: string, rationale = "scripted") => ({ content: { rationale, result } });
