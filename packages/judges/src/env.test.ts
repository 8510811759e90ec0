// Configuration the judges read from the environment: strict when a process starts
// (checkJudgeEnv), warn-once-and-default inside an app's call, never silent.
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkJudgeEnv, envFlag, envNumber } from "./env.js";
import { GavelConfigError } from "./errors.js";
import { resolveRetryOptions } from "./retry.js";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

describe("judge configuration from the environment", () => {
  it("reads set values and defaults for unset or blank ones", () => {
    process.env.GAVEL_LLM_TIMEOUT_MS = " 2500 ";
    process.env.GAVEL_LLM_MAX_RETRIES = "";
    expect(envNumber("GAVEL_LLM_TIMEOUT_MS")).toBe(2500);
    expect(envNumber("GAVEL_LLM_MAX_RETRIES")).toBe(4);
    expect(resolveRetryOptions({}).timeoutMs).toBe(2500);
    process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = "OFF";
    expect(envFlag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")).toBe(false);
  });

  it("checkJudgeEnv refuses a bad value, naming it and the default", () => {
    expect(() => checkJudgeEnv({ GAVEL_LLM_TIMEOUT_MS: "30s" })).toThrow(GavelConfigError);
    expect(() => checkJudgeEnv({ GAVEL_LLM_TIMEOUT_MS: "30s" })).toThrow(/GAVEL_LLM_TIMEOUT_MS must be a number >= 0 \(got "30s"\).*default is 60000/);
    expect(() => checkJudgeEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "maybe" })).toThrow(/true or false/);
    expect(() => checkJudgeEnv({ GAVEL_LLM_TIMEOUT_MS: "100", GAVEL_JUDGE_MAX_OUTPUT_ATTEMPTS: "2" })).not.toThrow();
  });

  it("inside a call a bad value warns once, with the variable's name, and the default applies", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    process.env.GAVEL_JUDGE_TRACE_MAX_CHARS = "lots";
    expect(envNumber("GAVEL_JUDGE_TRACE_MAX_CHARS")).toBe(100_000);
    expect(envNumber("GAVEL_JUDGE_TRACE_MAX_CHARS")).toBe(100_000);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/GAVEL_JUDGE_TRACE_MAX_CHARS must be a number >= 0 \(got "lots"\)/);
  });
});
