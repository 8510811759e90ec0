import type { Assessment, FeedbackValueType } from "./api";

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function relativeTime(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "never";
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.floor(s / 86400)} d ago`;
  return formatTime(ms).slice(0, 10);
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** One line of text for a table cell; the full value is on the trace page. */
export function preview(v: unknown, max = 120): string {
  if (v === null || v === undefined || v === "") return "";
  let s: string;
  if (typeof v === "string") s = v;
  else {
    const chat = lastChatText(v);
    s = chat ?? safeJson(v);
  }
  s = s.replace(/\s+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function lastChatText(v: unknown): string | null {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const k of ["response", "answer", "output", "content", "text", "question", "issue", "input", "query"]) {
      if (typeof o[k] === "string") return o[k] as string;
    }
  }
  return null;
}

export function safeJson(v: unknown, indent?: number): string {
  try {
    const s = JSON.stringify(v, null, indent);
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

/** How an assessment value reads in a cell: strings bare, the rest as JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, "");
  return safeJson(v);
}

/** Judge and human agree when values are equal, ignoring case and spaces for text. */
export function valuesEqual(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (typeof v === "string" ? v.trim().toLowerCase() : safeJson(v));
  return norm(a) === norm(b);
}

export interface AssessmentPair {
  judge?: Assessment;
  human?: Assessment;
  disagree: boolean;
}

const newest = (list: Assessment[]) => list.reduce<Assessment | undefined>((m, a) => (!m || a.createTimeMs >= m.createTimeMs ? a : m), undefined);

/**
 * The judge's and the human's value of one assessment name on a trace. The judge's is its
 * latest assessment even when a human overrode it (then it is shown struck through); the
 * human's is the latest valid label.
 */
export function pairFor(assessments: Assessment[], name: string): AssessmentPair {
  const of = assessments.filter((a) => a.name === name && a.kind === "feedback");
  const judge = newest(of.filter((a) => a.source.sourceType === "LLM_JUDGE")) ?? newest(of.filter((a) => a.source.sourceType === "CODE"));
  const human = newest(of.filter((a) => a.source.sourceType === "HUMAN" && a.valid));
  const disagree = Boolean(judge && human && !judge.error && !valuesEqual(judge.value, human.value));
  return { judge, human, disagree };
}

/** The value type to ask a human for: the registered judge's, else guessed from values seen. */
export function inferValueType(seen: unknown[]): FeedbackValueType {
  const vals = seen.filter((v) => v !== null && v !== undefined);
  if (vals.length > 0 && vals.every((v) => typeof v === "boolean")) return "boolean";
  if (vals.length > 0 && vals.every((v) => typeof v === "number")) return "number";
  const strings = [...new Set(vals.filter((v): v is string => typeof v === "string"))];
  // One distinct value is no evidence of a category set; offer free text then.
  if (strings.length >= 2 && strings.length <= 12 && strings.every((s) => s.length <= 40)) return strings.sort();
  return "string";
}

export function valueTypeLabel(t: FeedbackValueType | undefined): string {
  if (t === undefined) return "free text";
  if (Array.isArray(t)) return `one of ${t.join(", ")}`;
  return t === "string" ? "free text" : t;
}
