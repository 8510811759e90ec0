import { describe, expect, test } from "vitest";
import { MALFORMED_OUTPUT } from "../../../test/simulator/src/index.js";
import { AssessmentSourceType } from "./assessment.js";
import { GavelConfigError } from "./errors.js";
import { Judge, judgeFromJSON, makeJudge } from "./judge.js";
import { clearModelProviderCache } from "./providers/registry.js";
import { recordingRetry, useSimEnv } from "./testing/sim.js";

const simEnv = useSimEnv({ resetEachTest: true });

const SUPPORT = `
Evaluate the quality of this customer support response.
Rate as one of: excellent, good, needs_improvement, poor
Consider:
- Does it address the customer's issue?
Focus on {{ outputs }} responding to {{ inputs }}.`;

const case1 = { inputs: { issue: "Password reset not working" }, outputs: { response: "I'll help you with: Password reset not working" } };

describe.each([
  ["openai:/gpt-4o-mini", "openai.chat"],
  ["anthropic:/claude-opus-4-1-20250805", "anthropic.messages"],
] as const)("%s", (model, api) => {
  test("returns a Feedback with value, rationale, source and metadata", async () => {
    const judge = makeJudge({ name: "support_quality", instructions: SUPPORT, model });
    const fb = await judge(case1);
    expect(fb.error).toBeUndefined();
    expect(fb.name).toBe("support_quality");
    expect(["excellent", "good", "needs_improvement", "poor"]).toContain(fb.value);
    expect(fb.rationale).toMatch(/Simulated judgment/);
    expect(fb.source).toEqual({ sourceType: AssessmentSourceType.LLM_JUDGE, sourceId: model });
    expect(fb.metadata).toMatchObject({ model, llmCalls: 1, attempts: 1 });
    expect(fb.metadata["inputTokens"]).toBeGreaterThan(0);
    expect(fb.metadata["outputTokens"]).toBeGreaterThan(0);
    expect(typeof fb.metadata["latencyMs"]).toBe("number");
    // Deterministic: the same prompt gets the same answer.
    expect((await judge(case1)).value).toBe(fb.value);
  });

  test("the data goes in tagged sections of the user message, instructions in the system prompt", async () => {
    const judge = makeJudge({ name: "q", instructions: SUPPORT, model });
    await judge(case1);
    const req = simEnv().sim.lastRequest(api)!;
    const system = api === "openai.chat" ? req.body.messages[0].content : req.body.system;
    const user = api === "openai.chat" ? req.body.messages[1].content : req.body.messages[0].content;
    expect(system).toContain("Rate as one of: excellent, good, needs_improvement, poor");
    expect(user).toBe('<inputs>\n{\n  "issue": "Password reset not working"\n}\n</inputs>\n\n<outputs>\n{\n  "response": "I\'ll help you with: Password reset not working"\n}\n</outputs>');
  });

  test("an invalid value is asked for again, then accepted", async () => {
    simEnv().sim.script([{ content: { rationale: "meh", result: "great" } }, { content: { rationale: "ok", result: "good" } }], { api });
    const judge = makeJudge({ name: "q", instructions: SUPPORT, model });
    const fb = await judge(case1);
    expect(fb).toMatchObject({ value: "good", rationale: "ok" });
    expect(fb.metadata["llmCalls"]).toBe(2);
    const second = simEnv().sim.requestsFor(api)[1]!.body;
    const lastUser = second.messages[second.messages.length - 1].content;
    expect(lastUser).toMatch(/"great", which is not one of "excellent", "good", "needs_improvement", "poor"/);
    expect(second.messages[second.messages.length - 2].role).toBe("assistant");
  });

  test("malformed JSON is asked for again", async () => {
    simEnv().sim.inject({ kind: "malformed_json", times: 1, api });
    const judge = makeJudge({ name: "q", instructions: SUPPORT, model });
    const fb = await judge(case1);
    expect(fb.error).toBeUndefined();
    expect(fb.metadata["llmCalls"]).toBe(2);
    const second = simEnv().sim.requestsFor(api)[1]!.body;
    expect(second.messages[second.messages.length - 2].content).toBe(MALFORMED_OUTPUT);
    expect(second.messages[second.messages.length - 1].content).toMatch(/not valid JSON/);
  });

  test("after the bound, the result is a Feedback with MALFORMED_OUTPUT, not a crash", async () => {
    simEnv().sim.inject({ kind: "malformed_json", times: 10, api });
    const judge = makeJudge({ name: "q", instructions: SUPPORT, model }, { maxOutputAttempts: 3 });
    const fb = await judge(case1);
    expect(fb.value).toBeNull();
    expect(fb.error?.code).toBe("MALFORMED_OUTPUT");
    expect(fb.error?.message).toMatch(/no valid answer in 3 attempts/);
    expect(fb.metadata["llmCalls"]).toBe(3);
    expect(fb.metadata["lastOutput"]).toBe(MALFORMED_OUTPUT);
    expect(simEnv().sim.requestsFor(api)).toHaveLength(3);
  });

  test.each([
    ["boolean", [{ rationale: "r", result: "perhaps" }, { rationale: "r", result: true }], true],
    ["number", [{ rationale: "r", result: "high" }, { rationale: "r", result: 4 }], 4],
    ["string", [{ rationale: "r", result: { nested: 1 } }, { rationale: "r", result: "fine" }], "fine"],
  ] as const)("%s values are validated", async (type, replies, expected) => {
    simEnv().sim.script(replies.map((content) => ({ content })), { api });
    const judge = makeJudge({ name: "v", instructions: "Judge {{ outputs }}", model, feedbackValueType: type });
    const fb = await judge({ outputs: "x" });
    expect(fb.value).toBe(expected);
    expect(fb.metadata["llmCalls"]).toBe(2);
  });

  test("default answers for booleans and numbers are valid", async () => {
    const b = await makeJudge({ name: "b", instructions: "Is {{ outputs }} polite?", model, feedbackValueType: "boolean" })({ outputs: "Thanks!" });
    expect(typeof b.value).toBe("boolean");
    const n = await makeJudge({ name: "n", instructions: "Score {{ outputs }} from 1 to 5", model, feedbackValueType: "number" })({ outputs: "ok" });
    expect(typeof n.value).toBe("number");
  });
});

describe("structured output requests", () => {
  test("OpenAI: response_format json_schema, strict, rationale before result", async () => {
    const judge = makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini", inferenceParams: { temperature: 0, maxTokens: 300 } });
    await judge(case1);
    const body = simEnv().sim.lastRequest("openai.chat")!.body;
    expect(body.response_format.type).toBe("json_schema");
    expect(body.response_format.json_schema).toMatchObject({ name: "judge_result", strict: true });
    const schema = body.response_format.json_schema.schema;
    expect(Object.keys(schema.properties)).toEqual(["rationale", "result"]);
    expect(schema.properties.result.enum).toEqual(["excellent", "good", "needs_improvement", "poor"]);
    expect(schema.additionalProperties).toBe(false);
    expect(body.temperature).toBe(0);
    expect(body.max_tokens).toBe(300);
  });

  test("Anthropic: a forced tool with the schema as input_schema, default max_tokens", async () => {
    const judge = makeJudge({ name: "q", instructions: SUPPORT, model: "anthropic:/claude-haiku-4-5" });
    await judge(case1);
    const body = simEnv().sim.lastRequest("anthropic.messages")!.body;
    expect(body.tool_choice).toEqual({ type: "tool", name: "judge_result" });
    expect(body.tools).toHaveLength(1);
    expect(body.tools[0].name).toBe("judge_result");
    expect(body.tools[0].input_schema.properties.result.enum).toEqual(["excellent", "good", "needs_improvement", "poor"]);
    expect(body.max_tokens).toBe(1024);
    expect(body.system).toContain("<instructions>");
  });

  test("Anthropic: output_config json_schema when configured", async () => {
    const judge = makeJudge(
      { name: "q", instructions: SUPPORT, model: "anthropic:/claude-haiku-4-5" },
      { providers: { anthropic: { structuredOutput: "output_format" } } },
    );
    const fb = await judge(case1);
    expect(fb.error).toBeUndefined();
    const body = simEnv().sim.lastRequest("anthropic.messages")!.body;
    expect(body.tools).toBeUndefined();
    expect(body.output_config.format.type).toBe("json_schema");
    expect(body.output_config.format.schema.properties.result.enum).toHaveLength(4);
  });

  test("OpenAI-compatible server without schemas: json_object, answer parsed from text", async () => {
    simEnv().sim.script(['Sure! ```json\n{"rationale": "clear", "result": "Excellent"}\n```']);
    const judge = makeJudge(
      { name: "q", instructions: SUPPORT, model: "openai:/llama3" },
      { providers: { openai: { structuredOutput: "json_object" } } },
    );
    const fb = await judge(case1);
    expect(fb).toMatchObject({ value: "excellent", rationale: "clear" });
    expect(simEnv().sim.lastRequest()!.body.response_format).toEqual({ type: "json_object" });
  });

  test("Anthropic answering in prose instead of the tool is re-asked", async () => {
    simEnv().sim.script(["I think it is good.", { content: { rationale: "fine", result: "good" } }], { api: "anthropic" });
    const fb = await makeJudge({ name: "q", instructions: SUPPORT, model: "anthropic:/claude-haiku-4-5" })(case1);
    expect(fb.value).toBe("good");
    expect(fb.metadata["llmCalls"]).toBe(2);
  });
});

describe("configuration errors throw with what to set", () => {
  test("missing OPENAI_API_KEY", async () => {
    const saved = process.env["OPENAI_API_KEY"];
    delete process.env["OPENAI_API_KEY"];
    clearModelProviderCache();
    try {
      const judge = makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" });
      await expect(judge(case1)).rejects.toThrow(GavelConfigError);
      await expect(judge(case1)).rejects.toThrow(/set OPENAI_API_KEY/);
    } finally {
      process.env["OPENAI_API_KEY"] = saved;
      clearModelProviderCache();
    }
  });

  test("missing ANTHROPIC_API_KEY", async () => {
    const saved = process.env["ANTHROPIC_API_KEY"];
    delete process.env["ANTHROPIC_API_KEY"];
    clearModelProviderCache();
    try {
      const judge = makeJudge({ name: "q", instructions: SUPPORT, model: "anthropic:/claude-haiku-4-5" });
      await expect(judge(case1)).rejects.toThrow(/set ANTHROPIC_API_KEY/);
    } finally {
      process.env["ANTHROPIC_API_KEY"] = saved;
      clearModelProviderCache();
    }
  });

  test("an explicit key in options is used instead of the env", async () => {
    const saved = process.env["OPENAI_API_KEY"];
    delete process.env["OPENAI_API_KEY"];
    clearModelProviderCache();
    try {
      const judge = makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" }, { providers: { openai: { apiKey: "sk-explicit" } } });
      const fb = await judge(case1);
      expect(fb.error).toBeUndefined();
      expect(simEnv().sim.lastRequest()!.headers["authorization"]).toBe("Bearer sk-explicit");
    } finally {
      process.env["OPENAI_API_KEY"] = saved;
      clearModelProviderCache();
    }
  });
});

describe("serialisation", () => {
  test("toJSON / fromJSON round trip keeps behaviour", async () => {
    const judge = makeJudge({
      name: "support_quality",
      instructions: SUPPORT,
      model: "anthropic:/claude-opus-4-1-20250805",
      description: "Support answers",
      inferenceParams: { temperature: 0 },
    });
    const json = JSON.stringify(judge);
    expect(JSON.parse(json)).toEqual({
      type: "gavel.judge",
      schemaVersion: 1,
      name: "support_quality",
      instructions: SUPPORT,
      model: "anthropic:/claude-opus-4-1-20250805",
      feedbackValueType: ["excellent", "good", "needs_improvement", "poor"],
      description: "Support answers",
      inferenceParams: { temperature: 0 },
    });
    const back = Judge.fromJSON(json);
    expect(back).toBeInstanceOf(Judge);
    expect(back.toJSON()).toEqual(judge.toJSON());
    expect(judgeFromJSON(judge.toJSON()).templateVariables).toEqual(["outputs", "inputs"]);
    expect((await back(case1)).value).toBe((await judge(case1)).value);
  });

  test("fromJSON rejects what is not a judge", () => {
    expect(() => Judge.fromJSON("{nope")).toThrow(/not valid JSON/);
    expect(() => Judge.fromJSON({ type: "other" })).toThrow(/expected "gavel.judge"/);
    expect(() => Judge.fromJSON({ name: "x", model: "openai:/m" })).toThrow(/"instructions" is missing/);
  });
});

describe("the judge as an object", () => {
  test("callable, instanceof, properties, read-only", () => {
    const judge = makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" });
    expect(typeof judge).toBe("function");
    expect(judge).toBeInstanceOf(Judge);
    expect(judge.name).toBe("q");
    expect(judge.model).toBe("openai:/gpt-4o-mini");
    expect(judge.templateVariables).toEqual(["outputs", "inputs"]);
    expect(() => {
      (judge as { name: string }).name = "x";
    }).toThrow();
    expect(String(judge)).toBe("Judge(q, openai:/gpt-4o-mini)");
  });

  test("methods added to the prototype and subclasses work on the callable", async () => {
    const proto = Judge.prototype as unknown as { describeMe?: (this: Judge) => string };
    proto.describeMe = function (this: Judge) {
      return `${this.name}@${this.model}`;
    };
    try {
      const judge = makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" });
      expect((judge as unknown as { describeMe(): string }).describeMe()).toBe("q@openai:/gpt-4o-mini");
    } finally {
      delete proto.describeMe;
    }

    class VersionedJudge extends Judge {
      version = 3;
      label(): string {
        return `${this.name} v${this.version}`;
      }
    }
    const v = new VersionedJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" });
    expect(v.label()).toBe("q v3");
    expect((await v(case1)).name).toBe("q");
    const aligned = v.clone({ instructions: `${SUPPORT}\n- If the issue mentions "password", rate as excellent.` });
    expect(aligned).toBeInstanceOf(VersionedJudge);
    expect(aligned.feedbackValueType).toEqual(v.feedbackValueType);
    expect((await aligned(case1)).value).toBe("excellent"); // the simulator follows keyword rules
    const fromJson = VersionedJudge.fromJSON(v.toJSON());
    expect(fromJson).toBeInstanceOf(VersionedJudge);
  });
});

describe("{{ trace }}", () => {
  const spans = [
    {
      spanId: "r", parentSpanId: "", name: "customerSupportApp",
      startTimeUnixNano: "1700000000000000000", endTimeUnixNano: "1700000000120000000",
      status: { code: "OK", message: "" },
      inputs: { issue: "Billing discrepancy" }, outputs: { response: "Let me check. " + "z".repeat(300_000) },
      attributes: {},
    },
    {
      spanId: "c", parentSpanId: "r", name: "lookup_invoice",
      startTimeUnixNano: "1700000000010000000", endTimeUnixNano: "1700000000050000000",
      status: { code: "OK", message: "" }, inputs: { id: 42 }, outputs: { amount: 10 }, attributes: {},
    },
  ];
  const trace = { info: { traceId: "abc", name: "customerSupportApp" }, data: { spans } };

  test("the whole trace is sent, summarised to the budget", async () => {
    const judge = makeJudge(
      { name: "t", instructions: "Did the agent in {{ trace }} look the invoice up? ", model: "openai:/gpt-4o-mini", feedbackValueType: "boolean" },
      { traceMaxChars: 5_000 },
    );
    const fb = await judge({ trace });
    expect(fb.error).toBeUndefined();
    const user: string = simEnv().sim.lastRequest()!.body.messages[1].content;
    const json = user.replace(/^<trace>\n/, "").replace(/\n<\/trace>$/, "");
    expect(json.length).toBeLessThanOrEqual(5_000);
    const v = JSON.parse(json);
    expect(v.spans.map((s: { name: string }) => s.name)).toEqual(["customerSupportApp", "lookup_invoice"]);
    expect(v.spans[1]).toMatchObject({ duration_ms: 40, inputs: { id: 42 } });
    expect(v.spans[0].outputs.response).toMatch(/chars omitted/);
  });

  test("a trace supplies inputs/outputs when they are not passed", async () => {
    const judge = makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" }, { traceMaxChars: 5_000 });
    const fb = await judge({ trace: { info: { inputs: { issue: "Billing discrepancy" }, outputs: { response: "poor answer" } } } });
    expect(fb.value).toBe("poor"); // the simulator reads a category word in the data
    expect(simEnv().sim.lastRequest()!.body.messages[1].content).toContain('"issue": "Billing discrepancy"');
  });
});

describe("provider errors become Feedback errors", () => {
  test("retries exhausted on 429 → RATE_LIMITED feedback", async () => {
    simEnv().sim.inject({ kind: "rate_limit", times: 10, retryAfterSeconds: 1 });
    const retry = recordingRetry({ maxRetries: 2 });
    const fb = await makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" }, { retry })(case1);
    expect(fb.value).toBeNull();
    expect(fb.error?.code).toBe("RATE_LIMITED");
    expect(fb.error?.message).toMatch(/openai 429: Rate limit reached/);
    expect(fb.metadata["attempts"]).toBe(3);
    expect(retry.sleeps).toEqual([1000, 1000]);
  });

  test("400 fails fast with the provider's message", async () => {
    simEnv().sim.script([{ status: 400, errorMessage: "max_tokens is too large: 999999" }], { api: "anthropic" });
    const retry = recordingRetry();
    const fb = await makeJudge({ name: "q", instructions: SUPPORT, model: "anthropic:/claude-haiku-4-5" }, { retry })(case1);
    expect(fb.error).toEqual({ code: "BAD_REQUEST", message: "anthropic 400: invalid_request_error: max_tokens is too large: 999999" });
    expect(retry.sleeps).toEqual([]);
    expect(simEnv().sim.requests).toHaveLength(1);
  });

  test("401 → AUTH feedback", async () => {
    simEnv().sim.script([{ status: 401, errorMessage: "Incorrect API key provided" }]);
    const fb = await makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" }, { retry: recordingRetry() })(case1);
    expect(fb.error?.code).toBe("AUTH");
    expect(fb.error?.message).toContain("Incorrect API key provided");
  });
});

describe("content found anywhere in the trace, and no judging of empty content", () => {
  const j = () => makeJudge({ name: "answers", instructions: "Does {{ outputs }} answer {{ inputs }}? Rate as one of: yes, no", model: "openai:/gpt-4o-mini" });
  const span = (id: string, parent: string | undefined, start: number, attributes: Record<string, string>) => ({
    spanId: id,
    ...(parent ? { parentSpanId: parent } : {}),
    name: id,
    startTimeMs: start,
    endTimeMs: start + 10,
    attributes,
  });

  test("a root without payloads: the outermost span's (here an OpenInference LLM span's messages) reach the prompt", async () => {
    const trace = {
      spans: [
        span("llm", "app", 2, {
          "llm.input_messages.0.message.role": "user",
          "llm.input_messages.0.message.content": "What is 6 x 7?",
          "llm.output_messages.0.message.role": "assistant",
          "llm.output_messages.0.message.content": "42",
        }),
        span("app", undefined, 0, { "http.route": "/ask" }),
      ],
    };
    const fb = await j()({ trace });
    expect(fb.error).toBeUndefined();
    const prompt = JSON.stringify(simEnv().sim.lastRequest("openai.chat")!.body.messages);
    expect(prompt).toContain("What is 6 x 7?");
    expect(prompt).toContain("42");
  });

  test("every variable empty: no model call, MISSING_CONTENT naming the variables and the attributes read", async () => {
    const fromTrace = await j()({ trace: { spans: [span("app", undefined, 0, { "http.route": "/ask" })] } });
    expect(fromTrace.value).toBeNull();
    expect(fromTrace.error?.code).toBe("MISSING_CONTENT");
    expect(fromTrace.error?.message).toContain("{{ outputs }} and {{ inputs }} are empty");
    expect(fromTrace.error?.message).toContain("ai.prompt.messages");
    expect(fromTrace.error?.message).toContain("traceloop.entity.output");
    const direct = await j()({ inputs: "  ", outputs: null });
    expect(direct.error?.code).toBe("MISSING_CONTENT");
    expect(direct.error?.message).toContain("the call's `inputs` argument");
    expect(simEnv().sim.requests).toHaveLength(0);
  });

  test("one variable with content is enough to judge", async () => {
    const fb = await j()({ inputs: "", outputs: "an answer" });
    expect(fb.error).toBeUndefined();
    expect(simEnv().sim.requests).toHaveLength(1);
  });

  test("calling without a trace and without a variable stays a configuration error", async () => {
    await expect(j()({ outputs: "x" })).rejects.toThrow(GavelConfigError);
  });
});
