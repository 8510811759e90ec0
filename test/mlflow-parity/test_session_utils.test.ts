/**
 * MLflow parity: session-level judges in evaluate(), from MLflow's
 * tests/genai/evaluate/test_session_utils.py (classify_scorers, group_traces_by_session,
 * get_first_trace_in_session, validate_session_level_evaluation_inputs,
 * evaluate_session_level_scorers). MLflow tests those helpers with mocked scorers; here the
 * whole of evaluate() runs: traces sent over OTLP to a real collector, a `{{ conversation }}`
 * judge calling the LLM simulator (test/simulator) through the real `openai` client, and the
 * stored assessments read back with getSession() and the REST API.
 *
 * As in MLflow, a session-level judge's Feedback is stored on the session's first trace, with
 * `mlflow.trace.session` in its metadata.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluate, getSession, getTrace, init, logSessionAssessment, makeJudge, overrideFeedback, scorer, searchTraces, shutdown, type Trace } from "@gavel/sdk";
import { useSimEnv } from "../../packages/judges/src/testing/sim.js";
import { newExperiment, parityGavel, sendTraces } from "./support.js";

const gavelOf = parityGavel();
const simEnv = useSimEnv({ resetEachTest: true });
beforeAll(() => {
  init({ url: gavelOf().url, serviceName: "session-parity" });
});
afterAll(async () => {
  await shutdown();
});

const SESSION_KEY = "mlflow.trace.session";
const resolvedJudge = () =>
  makeJudge({ name: "resolved", instructions: "Was the user's problem solved in {{ conversation }}?", model: "openai:/gpt-4o-mini", feedbackValueType: "boolean" });
const hasOutput = scorer({ name: "has_output", fn: ({ outputs }) => outputs !== undefined && outputs !== null });

interface Turn {
  label: string;
  session?: string;
  startMs: number;
  question: string;
  answer: string;
}

/** Sends the turns as traces (MLflow's _create_mock_trace: session metadata and request time); label → trace id. */
async function sendTurns(exp: string, turns: Turn[]): Promise<Record<string, string>> {
  const ids = await sendTraces(
    gavelOf().url,
    turns.map((t) => ({
      name: t.label,
      experimentId: exp,
      startMs: t.startMs,
      attributes: {
        "gavel.inputs": JSON.stringify({ question: t.question }),
        "gavel.outputs": JSON.stringify({ answer: t.answer }),
        ...(t.session ? { [`gavel.metadata.${SESSION_KEY}`]: t.session } : {}),
      },
    })),
  );
  return Object.fromEntries(turns.map((t, i) => [t.label, ids[i]!]));
}

// Two sessions and a trace of none, sent out of order (MLflow's test_group_traces_by_session_* and
// test_get_first_trace_in_session_chronological_order).
const TURNS: Turn[] = [
  { label: "trace-1", session: "session-1", startMs: 3000, question: "Still locked out?", answer: "Reset link sent again." },
  { label: "trace-2", session: "session-1", startMs: 1000, question: "I am locked out", answer: "Let me check your account." },
  { label: "trace-3", session: "session-1", startMs: 2000, question: "It says password expired", answer: "I will send a reset link." },
  { label: "trace-4", session: "session-2", startMs: 1500, question: "Refund please", answer: "Refund issued." },
  { label: "trace-5", session: "session-2", startMs: 2500, question: "Thanks", answer: "You are welcome." },
  { label: "trace-6", startMs: 500, question: "Hello?", answer: "Hi!" },
];

describe("MLflow tests/genai/evaluate/test_session_utils.py", () => {
  it("test_evaluate_session_level_scorers_success, test_classify_scorers_mixed, test_group_traces_by_session_multiple_sessions and _excludes_no_session_id", async () => {
    const exp = await newExperiment("session-eval");
    const id = await sendTurns(exp, TURNS);
    const data = await searchTraces({ experimentIds: [exp] });
    expect(data).toHaveLength(6);

    const result = await evaluate({ data, scorers: [resolvedJudge(), hasOutput], experimentId: exp });

    // The session-level judge ran once per session (two), the row-level scorer once per trace.
    const chats = simEnv().sim.requests.filter((r) => r.api === "openai.chat");
    expect(chats).toHaveLength(2);
    const prompts = chats.map((r) => r.body.messages[1].content as string);
    const s1 = prompts.find((p) => p.includes("locked out"))!;
    // The conversation is the session's turns oldest first: trace-2, trace-3, trace-1.
    expect(s1.indexOf("I am locked out")).toBeLessThan(s1.indexOf("password expired"));
    expect(s1.indexOf("password expired")).toBeLessThan(s1.indexOf("Still locked out?"));
    expect(s1).not.toContain("Refund");
    expect(prompts.some((p) => p.includes("Hello?"))).toBe(false);

    // Stored on each session's first trace (trace-2, trace-4), with the session in the metadata.
    const onTrace = async (label: string) => ((await getTrace(id[label]!))!.assessments ?? []).filter((a) => a.name === "resolved");
    const [s1Feedback] = await onTrace("trace-2");
    expect(s1Feedback).toMatchObject({ kind: "feedback", runId: result.runId, metadata: { [SESSION_KEY]: "session-1" }, source: { sourceType: "LLM_JUDGE", sourceId: "openai:/gpt-4o-mini" } });
    expect(typeof s1Feedback!.value).toBe("boolean");
    expect(await onTrace("trace-4")).toMatchObject([{ metadata: { [SESSION_KEY]: "session-2" } }]);
    for (const other of ["trace-1", "trace-3", "trace-5", "trace-6"]) expect(await onTrace(other), other).toEqual([]);
    // The row-level scorer is on every trace.
    for (const label of Object.keys(id)) expect(((await getTrace(id[label]!))!.assessments ?? []).filter((a) => a.name === "has_output"), label).toHaveLength(1);

    // Results: the session's judgement is on its first trace's row; metrics count sessions.
    const rowOf = (label: string) => result.tables.evalResults.find((r) => r.traceId === id[label])!;
    expect(rowOf("trace-2")).toMatchObject({ sessionId: "session-1", "resolved/value": s1Feedback!.value });
    expect(rowOf("trace-3")["resolved/value"]).toBeUndefined();
    expect(result.metrics["resolved/count"]).toBe(2);
    expect(result.metrics["has_output/count"]).toBe(6);

    // The session answers with its session-level assessment, over the SDK and the REST API.
    const session = await getSession({ experimentId: exp, sessionId: "session-1" });
    expect(session.map((t) => t.info.traceId)).toEqual([id["trace-2"], id["trace-3"], id["trace-1"]]);
    expect(session.assessments.map((a) => [a.name, a.traceId, a.metadata[SESSION_KEY]])).toEqual([["resolved", id["trace-2"], "session-1"]]);
    const rest = (await (await fetch(`${gavelOf().url}/api/v1/experiments/${exp}/sessions/session-2`)).json()) as { assessments: { name: string; traceId: string }[] };
    expect(rest.assessments.map((a) => [a.name, a.traceId])).toEqual([["resolved", id["trace-4"]]]);
  });

  it("test_evaluate_session_level_scorers_handles_scorer_error", async () => {
    const exp = await newExperiment("session-error");
    const id = await sendTurns(exp, TURNS.slice(0, 2));
    simEnv().sim.script([{ status: 400, errorMessage: "context too long" }], { api: "openai" });
    const result = await evaluate({ data: await searchTraces({ experimentIds: [exp] }), scorers: [resolvedJudge()], experimentId: exp });
    // The failure is a Feedback with the error, stored like a verdict (on the first trace, with the session).
    const session = await getSession({ experimentId: exp, sessionId: "session-1" });
    expect(session.assessments).toHaveLength(1);
    expect(session.assessments[0]).toMatchObject({ traceId: id["trace-2"], value: null, metadata: { [SESSION_KEY]: "session-1" } });
    expect(session.assessments[0]!.error?.message).toContain("context too long");
    expect(result.metrics["resolved/error_count"]).toBe(1);

    // Gavel: a reviewer's override of the session-level feedback is session-level too (it keeps
    // the session key), so the session shows the correction in place of the error.
    const override = await overrideFeedback({ traceId: id["trace-2"]!, assessmentId: session.assessments[0]!.assessmentId, value: true, source: { sourceType: "HUMAN", sourceId: "reviewer" } });
    expect(override.metadata).toEqual({ [SESSION_KEY]: "session-1" });
    const after = await getSession({ experimentId: exp, sessionId: "session-1" });
    expect(after.assessments.filter((a) => a.valid).map((a) => [a.value, a.source.sourceType])).toEqual([[true, "HUMAN"]]);
  });

  it("test_validate_session_level_evaluation_inputs_with_predict_fn", async () => {
    await expect(evaluate({ data: [{ inputs: { q: 1 } }], scorers: [resolvedJudge()], predictFn: () => "output" })).rejects.toThrow(
      /session-level judges \(\{\{ conversation \}\}\) do not work with predictFn: resolved\. Pass the existing traces of the sessions as data/,
    );
    expect(simEnv().sim.requests).toHaveLength(0);
  });

  it("a session-level label logged by hand is stored as a session judge's is (logSessionAssessment)", async () => {
    const exp = await newExperiment("session-label");
    const id = await sendTurns(exp, TURNS.slice(3, 5));
    const traces: Trace[] = await getSession({ experimentId: exp, sessionId: "session-2" });
    const stored = await logSessionAssessment({
      session: [...traces].reverse(),
      assessment: { name: "frustrated", value: false, source: { sourceType: "HUMAN", sourceId: "reviewer@example.com" }, metadata: { note: "calm" } },
    });
    expect(stored).toMatchObject({ traceId: id["trace-4"], metadata: { note: "calm", [SESSION_KEY]: "session-2" } });
    expect((await getSession({ experimentId: exp, sessionId: "session-2" })).assessments.map((a) => a.name)).toEqual(["frustrated"]);
    // No traces, no session: refused before any request.
    await expect(logSessionAssessment({ session: [], assessment: { name: "x", value: 1, source: { sourceType: "HUMAN", sourceId: "r" } } })).rejects.toThrow(/needs the session's traces/);
  });
});
