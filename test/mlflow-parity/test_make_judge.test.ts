/**
 * MLflow parity: make_judge, from MLflow's tests/genai/judges/test_make_judge.py, restated
 * against Gavel's makeJudge. MLflow mocks the model call; here the real `openai` client talks
 * to the local LLM simulator (test/simulator), and the prompt is read from the request the
 * simulator received. Traces are real: sent over OTLP to a collector, expectations logged
 * with the SDK, read back with getTrace().
 *
 * Deliberate difference: MLflow writes the data as "inputs: {json}" lines; Gavel puts each
 * variable in a tagged section of the user message (<inputs>…</inputs>), the same JSON inside.
 */
import { describe, expect, it } from "vitest";
import { GavelConfigError, getTrace, logExpectation, makeJudge, type Trace } from "@gavel/sdk";
import { useSimEnv } from "../../packages/judges/src/testing/sim.js";
import { newExperiment, parityGavel, sendTraces } from "./support.js";

const gavelOf = parityGavel();
const simEnv = useSimEnv({ resetEachTest: true });

const MODEL = "openai:/gpt-4";
const json = (v: unknown) => JSON.stringify(v, null, 2);

/** The user message of the last chat request the simulator got. */
function userMessage(): string {
  const req = simEnv().sim.lastRequest("openai.chat")!;
  return req.body.messages[1].content as string;
}
function systemMessage(): string {
  return simEnv().sim.lastRequest("openai.chat")!.body.messages[0].content as string;
}

/** Like MLflow's `with mlflow.start_span() as span: span.set_inputs(…); span.set_outputs(…)`, then get_trace. */
async function traceWith(inputs: unknown, outputs: unknown, expectations: { name: string; value: unknown; sourceType: "HUMAN" | "LLM_JUDGE" | "CODE" }[] = []): Promise<Trace> {
  const attributes: Record<string, string> = {};
  if (inputs !== undefined) attributes["gavel.inputs"] = JSON.stringify(inputs);
  if (outputs !== undefined) attributes["gavel.outputs"] = JSON.stringify(outputs);
  const [traceId] = await sendTraces(gavelOf().url, [{ name: "test_span", experimentId: await newExperiment("make-judge"), attributes }]);
  for (const e of expectations) await logExpectation({ traceId: traceId!, name: e.name, value: e.value, source: { sourceType: e.sourceType, sourceId: "x" } });
  return (await getTrace(traceId!))!;
}

describe("MLflow tests/genai/judges/test_make_judge.py", () => {
  it("test_judge_rejects_scalar_expectations", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Compare {{ outputs }} to {{ expectations }}", model: MODEL, feedbackValueType: "string" });
    await expect(judge({ outputs: { result: "test" }, expectations: "expected value" })).rejects.toThrow(/'expectations' must be an object.*got string/);
    await expect(judge({ outputs: { result: "test" }, expectations: ["expected", "values"] })).rejects.toThrow(/'expectations' must be an object.*got an array/);
    await expect(judge({ outputs: { result: "test" }, expectations: 3 })).rejects.toBeInstanceOf(GavelConfigError);
    expect(simEnv().sim.requests).toHaveLength(0);
  });

  it("test_judge_rejects_invalid_trace", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Analyze this {{ trace }}", model: MODEL, feedbackValueType: "string" });
    await expect(judge({ trace: "not a trace" as never })).rejects.toThrow(/'trace' must be a trace.*got string/);
    await expect(judge({ trace: { trace_data: "invalid" } as never })).rejects.toThrow(/'trace' must be a trace.*trace_data/);
    const inputsJudge = makeJudge({ name: "inputs_judge", instructions: "Check {{ inputs }}", model: MODEL, feedbackValueType: "string" });
    await expect(inputsJudge({ trace: null })).rejects.toThrow(/uses \{\{ inputs \}\} but the call has no `inputs`/);
    expect(simEnv().sim.requests).toHaveLength(0);
  });

  it("test_judge_accepts_valid_dict_inputs", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Check if {{ inputs }} and {{ outputs }} are valid", model: MODEL, feedbackValueType: "string" });
    expect((await judge({ inputs: { question: "What is MLflow?" }, outputs: { answer: "MLflow is an open source platform" } })).error).toBeUndefined();
    expect(simEnv().sim.requests).toHaveLength(1);
    // Deliberate difference (README "Coming from MLflow"): empty dicts are accepted and a Feedback
    // comes back, as in MLflow, but Gavel does not ask the model to judge nothing.
    const empty = await judge({ inputs: {}, outputs: {} });
    expect(empty.name).toBe("test_judge");
    expect(empty.value).toBeNull();
    expect(empty.error?.code).toBe("MISSING_CONTENT");
    expect(simEnv().sim.requests).toHaveLength(1);
  });

  it("test_context_labels_added_to_interpolated_values", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Evaluate if {{outputs}} answers {{inputs}} per {{expectations}}", model: MODEL, feedbackValueType: "string" });
    const inputs = { question: "What is MLflow?" };
    const outputs = { answer: "MLflow is an open source platform" };
    const expectations = { criteria: "Must mention open source" };
    await judge({ inputs, outputs, expectations });
    const user = userMessage();
    expect(user).toContain(`<inputs>\n${json(inputs)}\n</inputs>`);
    expect(user).toContain(`<outputs>\n${json(outputs)}\n</outputs>`);
    expect(user).toContain(`<expectations>\n${json(expectations)}\n</expectations>`);
  });

  it("test_trace_field_extraction_for_inputs_outputs_template and _with_non_dict_values", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Evaluate if {{ outputs }} correctly answers {{ inputs }}", model: MODEL, feedbackValueType: "string" });
    await judge({ trace: await traceWith({ question: "What is MLflow?" }, { answer: "MLflow is an open source platform" }) });
    expect(userMessage()).toContain(json({ question: "What is MLflow?" }));
    expect(userMessage()).toContain(json({ answer: "MLflow is an open source platform" }));
    await judge({ trace: await traceWith("What is MLflow?", "MLflow is an open source platform") });
    expect(userMessage()).toContain("<inputs>\nWhat is MLflow?\n</inputs>");
    expect(userMessage()).toContain("<outputs>\nMLflow is an open source platform\n</outputs>");
  });

  it("test_trace_field_extraction_with_expectations", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Evaluate if {{ outputs }} meets {{ expectations }} for {{ inputs }}", model: MODEL, feedbackValueType: "string" });
    const expected = { expected: "MLflow is an open source platform for managing ML lifecycle" };
    const trace = await traceWith({ question: "What is MLflow?" }, { answer: "MLflow is an open source platform" }, [{ name: "expected_answer", value: expected, sourceType: "HUMAN" }]);
    await judge({ trace });
    expect(userMessage()).toContain(`<expectations>\n${json({ expected_answer: expected })}\n</expectations>`);
  });

  it("test_trace_field_extraction_with_multiple_expectations", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Evaluate if {{ outputs }} meets {{ expectations }}", model: MODEL, feedbackValueType: "string" });
    const trace = await traceWith(undefined, { answer: "MLflow is an open source platform" }, [
      { name: "format", value: "Should be a complete sentence", sourceType: "HUMAN" },
      { name: "content", value: "Should mention open source", sourceType: "HUMAN" },
    ]);
    await judge({ trace });
    expect(userMessage()).toContain(json({ format: "Should be a complete sentence", content: "Should mention open source" }));
  });

  it("test_trace_field_extraction_filters_non_human_expectations", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Evaluate if {{ outputs }} meets {{ expectations }}", model: MODEL, feedbackValueType: "string" });
    const trace = await traceWith(undefined, { answer: "MLflow is an open source platform" }, [
      { name: "ground_truth", value: "Expected from human", sourceType: "HUMAN" },
      { name: "llm_prediction", value: "Expected from LLM", sourceType: "LLM_JUDGE" },
      { name: "code_prediction", value: "Expected from code", sourceType: "CODE" },
    ]);
    await judge({ trace });
    const user = userMessage();
    expect(user).toContain("Expected from human");
    expect(user).not.toContain("Expected from LLM");
    expect(user).not.toContain("Expected from code");
  });

  it("a trace without human expectations does not satisfy {{ expectations }}: the judge says what is missing", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Evaluate if {{ outputs }} meets {{ expectations }}", model: MODEL, feedbackValueType: "string" });
    const trace = await traceWith(undefined, { answer: "x" }, [{ name: "llm_prediction", value: "Expected from LLM", sourceType: "LLM_JUDGE" }]);
    await expect(judge({ trace })).rejects.toThrow(/uses \{\{ expectations \}\} but the call has no `expectations`/);
  });

  it("test_field_based_template_with_trace_and_explicit_inputs", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Evaluate if {{ inputs }} matches {{ outputs }}", model: MODEL, feedbackValueType: "string" });
    const trace = await traceWith({ question: "What is in the trace?" }, { answer: "Trace answer" });
    await judge({ trace, inputs: { question: "What is explicitly provided?" }, outputs: { answer: "Explicit answer" } });
    const user = userMessage();
    expect(user).toContain("explicitly provided");
    expect(user).toContain("Explicit answer");
    expect(user).not.toContain("in the trace");
    expect(user).not.toContain("Trace answer");
  });

  it("test_field_based_template_extracts_missing_fields_from_trace", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Evaluate if {{ inputs }} matches {{ outputs }}", model: MODEL, feedbackValueType: "string" });
    await judge({ trace: await traceWith({ question: "From trace" }, { answer: "Trace output" }), inputs: { question: "Explicitly provided" } });
    expect(userMessage()).toContain("Explicitly provided");
    expect(userMessage()).toContain("Trace output");
  });

  it("test_trace_template_with_expectations_extracts_correctly", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Analyze the {{ trace }} to see if it meets {{ expectations }}", model: MODEL, feedbackValueType: "string" });
    const trace = await traceWith({ question: "What is MLflow?" }, { answer: "MLflow is an open source platform" }, [
      { name: "accuracy", value: "Should mention ML lifecycle management", sourceType: "HUMAN" },
    ]);
    await judge({ trace });
    expect(systemMessage()).toContain("Analyze the {{ trace }} to see if it meets {{ expectations }}");
    expect(userMessage()).toContain("<expectations>");
    expect(userMessage()).toContain("Should mention ML lifecycle management");
  });

  it("test_trace_template_field_values_appended_not_interpolated", async () => {
    const judge = makeJudge({ name: "test_judge", instructions: "Analyze {{ trace }} with {{ inputs }}, {{ outputs }}, and {{ expectations }}", model: MODEL, feedbackValueType: "string" });
    const trace = await traceWith({ q: "from trace" }, { a: "from trace" }, [{ name: "test_exp", value: "expected value", sourceType: "HUMAN" }]);
    await judge({ trace, inputs: { custom: "explicit input" } });
    expect(systemMessage()).toContain("Analyze {{ trace }} with {{ inputs }}, {{ outputs }}, and {{ expectations }}");
    const user = userMessage();
    expect(user).toContain("explicit input");
    expect(user).toContain("from trace");
    expect(user).toContain("expected value");
  });

  it("test_make_judge_validates_feedback_value_type: list and dict types", async () => {
    for (const t of ["number", "string", "dict[str, int]", "list[str]"] as const) {
      expect(() => makeJudge({ name: "j", instructions: "Rate {{ outputs }}", model: MODEL, feedbackValueType: t as never })).not.toThrow();
    }
    expect(() => makeJudge({ name: "j", instructions: "Rate {{ outputs }}", model: MODEL, feedbackValueType: "dict[str, CustomModel]" as never })).toThrow(
      /feedbackValueType must be/,
    );
    expect(() => makeJudge({ name: "j", instructions: "Rate {{ outputs }}", model: MODEL, feedbackValueType: { type: "list", items: "object" } as never })).toThrow(
      /feedbackValueType must be/,
    );
  });

  it("test_instructions_judge serialization: list[str] and dict[str, int] round-trip through toJSON", () => {
    const list = makeJudge({ name: "list_judge", instructions: "List issues in {{ outputs }}", model: MODEL, feedbackValueType: "list[str]" as never });
    expect(list.toJSON().feedbackValueType).toEqual({ type: "list", items: "string" });
    const dict = makeJudge({ name: "dict_judge", instructions: "Rate {{ outputs }} with scores", model: MODEL, feedbackValueType: "dict[str, int]" as never });
    expect(dict.toJSON().feedbackValueType).toEqual({ type: "dict", values: "number" });
    expect(makeJudge(dict.toJSON() as never).feedbackValueType).toEqual({ type: "dict", values: "number" });
  });

  it("list and dict values come back from the model as a list and an object", async () => {
    const list = makeJudge({ name: "issues", instructions: "List issues in {{ outputs }}", model: MODEL, feedbackValueType: "list[str]" as never });
    simEnv().sim.script([{ content: { rationale: "two", result: ["too long", "rude"] } }], { api: "openai.chat" });
    expect((await list({ outputs: "x" })).value).toEqual(["too long", "rude"]);
    const schema = simEnv().sim.lastRequest("openai.chat")!.body.response_format.json_schema.schema;
    expect(schema.properties.result).toMatchObject({ type: "array", items: { type: "string" } });

    const dict = makeJudge({ name: "scores", instructions: "Score {{ outputs }} per criterion", model: MODEL, feedbackValueType: "dict[str, int]" as never });
    simEnv().sim.script([{ content: { rationale: "ok", result: [{ key: "clarity", value: 4 }, { key: "tone", value: 5 }] } }], { api: "openai.chat" });
    expect((await dict({ outputs: "x" })).value).toEqual({ clarity: 4, tone: 5 });
    // A wrong element type is asked for again, as for any malformed answer.
    simEnv().sim.script(
      [
        { content: { rationale: "ok", result: [{ key: "clarity", value: "high" }] } },
        { content: { rationale: "ok", result: [{ key: "clarity", value: 3 }] } },
      ],
      { api: "openai.chat" },
    );
    const fb = await dict({ outputs: "y" });
    expect(fb.value).toEqual({ clarity: 3 });
    expect(fb.metadata["llmCalls"]).toBe(2);
  });

  it("a default judge model: GAVEL_JUDGE_MODEL, else MLflow's default", async () => {
    const saved = process.env.GAVEL_JUDGE_MODEL;
    try {
      process.env.GAVEL_JUDGE_MODEL = "openai:/gpt-4o-mini";
      const judge = makeJudge({ name: "j", instructions: "Rate {{ outputs }}" });
      expect(judge.model).toBe("openai:/gpt-4o-mini");
      await judge({ outputs: "x" });
      expect(simEnv().sim.lastRequest("openai.chat")!.body.model).toBe("gpt-4o-mini");
      delete process.env.GAVEL_JUDGE_MODEL;
      expect(makeJudge({ name: "j", instructions: "Rate {{ outputs }}" }).model).toBe("openai:/gpt-4.1-mini");
    } finally {
      if (saved === undefined) delete process.env.GAVEL_JUDGE_MODEL;
      else process.env.GAVEL_JUDGE_MODEL = saved;
    }
  });
});

/** A trace of a session, as MLflow's create_trace_with_session: root span inputs/outputs and the session id. */
async function sessionTrace(session: string | undefined, inputs: unknown, outputs: unknown, startMs: number, key = "gavel.metadata.mlflow.trace.session"): Promise<Trace> {
  const attributes: Record<string, string> = { "gavel.inputs": JSON.stringify(inputs), "gavel.outputs": JSON.stringify(outputs) };
  if (session !== undefined) attributes[key] = session;
  const [traceId] = await sendTraces(gavelOf().url, [{ name: "test_trace", startMs, experimentId: await newExperiment("session"), attributes }]);
  return (await getTrace(traceId!))!;
}

const conversationJudge = () => makeJudge({ name: "conversation_judge", instructions: "Evaluate {{ conversation }} for quality", model: MODEL, feedbackValueType: "string" });

describe("MLflow tests/genai/judges/test_make_judge.py: sessions and {{ conversation }}", () => {
  it("test_conversation_template_variable_extraction and test_is_session_level_scorer_property", () => {
    expect(conversationJudge().templateVariables).toEqual(["conversation"]);
    expect(conversationJudge().isSessionLevel).toBe(true);
    expect(makeJudge({ name: "r", instructions: "Evaluate {{ outputs }}", model: MODEL }).isSessionLevel).toBe(false);
  });

  it("test_conversation_with_expectations_allowed and test_conversation_with_other_variables_rejected", () => {
    const j = makeJudge({ name: "c", instructions: "Evaluate {{ conversation }} against {{ expectations }}", model: MODEL });
    expect(new Set(j.templateVariables)).toEqual(new Set(["conversation", "expectations"]));
    for (const other of ["inputs", "outputs", "trace"]) {
      expect(() => makeJudge({ name: "invalid_judge", instructions: `Evaluate {{ conversation }} and {{ ${other} }}`, model: MODEL })).toThrow(
        /a \{\{ conversation \}\} judge may only also use \{\{ expectations \}\}/,
      );
    }
  });

  it("test_session_validation_type_error, _not_all_traces, test_conversation_missing_session and _empty_session", async () => {
    const judge = conversationJudge();
    await expect(judge({ session: "not a list" as never })).rejects.toThrow(/'session' must be a list of traces, got string/);
    await expect(judge({ session: ["not a trace", "also not a trace"] as never })).rejects.toThrow(/all elements of 'session' must be traces/);
    await expect(judge({})).rejects.toThrow(/uses \{\{ conversation \}\}: pass session/);
    await expect(judge({ session: [] })).rejects.toThrow(/uses \{\{ conversation \}\}: pass session/);
    expect(simEnv().sim.requests).toHaveLength(0);
  });

  it("test_validate_session_missing_session_id and test_validate_session_different_sessions", async () => {
    const judge = conversationJudge();
    await expect(judge({ session: [await sessionTrace(undefined, { q: 1 }, { a: 1 }, 0)] })).rejects.toThrow(/must have a session id/);
    const s1 = await Promise.all([1, 2, 3, 4, 5].map((i) => sessionTrace("session-1", { q: i }, { a: i }, i)));
    const s2 = await Promise.all([6, 7].map((i) => sessionTrace("session-2", { q: i }, { a: i }, i)));
    const s3 = [await sessionTrace("session-3", { q: 8 }, { a: 8 }, 8)];
    const err = (await judge({ session: [...s1, ...s2, ...s3] }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(GavelConfigError);
    expect(err.message).toMatch(/must belong to the same session\. Found 3:/);
    expect(err.message).toContain(`session id 'session-1': traces ${s1.slice(0, 3).map((t) => t.traceId).join(", ")} and 2 more`);
    expect(err.message).toContain(`session id 'session-2': traces ${s2.map((t) => t.traceId).join(", ")}`);
  });

  it("test_validate_session_same_session and test_conversation_extraction_from_session", async () => {
    const t1 = await sessionTrace("session-1", { question: "What is MLflow?" }, { answer: "MLflow is an open source platform" }, 1000);
    const t2 = await sessionTrace("session-1", { question: "How do I use it?" }, { answer: "You can use mlflow.start_run()" }, 2000);
    const fb = await conversationJudge()({ session: [t1, t2] });
    expect(fb.error).toBeUndefined();
    // Difference: MLflow renders a user turn with Python's str() of the dict; Gavel uses JSON for both roles.
    expect(userMessage()).toBe(
      `<conversation>\n${json([
        { role: "user", content: '{"question":"What is MLflow?"}' },
        { role: "assistant", content: '{"answer":"MLflow is an open source platform"}' },
        { role: "user", content: '{"question":"How do I use it?"}' },
        { role: "assistant", content: '{"answer":"You can use mlflow.start_run()"}' },
      ])}\n</conversation>`,
    );
  });

  it("test_conversation_extraction_chronological_order (and OpenTelemetry's session.id)", async () => {
    const second = await sessionTrace("s-otel", { question: "Second question" }, { answer: "Second answer" }, 2000, "session.id");
    const first = await sessionTrace("s-otel", { question: "First question" }, { answer: "First answer" }, 1000, "session.id");
    await conversationJudge()({ session: [second, first] });
    const content = userMessage();
    expect(content.indexOf("First question")).toBeGreaterThan(-1);
    expect(content.indexOf("First question")).toBeLessThan(content.indexOf("Second question"));
  });

  it("test_conversation_with_expectations", async () => {
    const judge = makeJudge({ name: "c", instructions: "Evaluate {{ conversation }} against {{ expectations }}", model: MODEL, feedbackValueType: "string" });
    const t1 = await sessionTrace("session-1", { question: "What is MLflow?" }, { answer: "MLflow is a platform" }, 1000);
    await judge({ session: [t1], expectations: { criteria: "Should be accurate and helpful" } });
    expect(userMessage()).toContain(`<expectations>\n${json({ criteria: "Should be accurate and helpful" })}\n</expectations>`);
    expect(userMessage()).toContain(`<conversation>\n${json([
      { role: "user", content: '{"question":"What is MLflow?"}' },
      { role: "assistant", content: '{"answer":"MLflow is a platform"}' },
    ])}\n</conversation>`);
  });

  it("test_conversation_with_session_level_expectations", async () => {
    const judge = makeJudge({ name: "c", instructions: "Evaluate {{ conversation }} against {{ expectations }}", model: MODEL, feedbackValueType: "string" });
    const t = await sessionTrace("test-session", { question: "What is MLflow?" }, { answer: "MLflow is a platform" }, 1000);
    await logExpectation({
      traceId: t.traceId,
      name: "accuracy",
      value: "Should provide accurate information",
      source: { sourceType: "HUMAN", sourceId: "" },
      metadata: { "mlflow.trace.session": "test-session" },
    });
    await judge({ session: [(await getTrace(t.traceId))!] });
    expect(userMessage()).toContain(`<expectations>\n${json({ accuracy: "Should provide accurate information" })}\n</expectations>`);
  });

  it("test_conversation_with_empty_inputs_or_outputs", async () => {
    const t1 = await sessionTrace("session-e", {}, { answer: "Valid answer" }, 1000);
    const t2 = await sessionTrace("session-e", { question: "Valid question" }, {}, 2000);
    await conversationJudge()({ session: [t1, t2] });
    expect(userMessage()).toBe(
      `<conversation>\n${json([
        { role: "assistant", content: '{"answer":"Valid answer"}' },
        { role: "user", content: '{"question":"Valid question"}' },
      ])}\n</conversation>`,
    );
  });
});
