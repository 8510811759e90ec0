import { describe, expect, test } from "vitest";
import { GavelConfigError } from "./errors.js";
import { makeJudge } from "./judge.js";
import { assertArguments, formatValue, parseTemplateVariables } from "./template.js";

const model = "openai:/gpt-4o-mini";

describe("template variables", () => {
  test("finds variables with or without inner spaces, in order of first use", () => {
    expect(parseTemplateVariables("Is {{outputs}} right for {{ inputs }} given {{  expectations  }}? {{ outputs }}")).toEqual([
      "outputs",
      "inputs",
      "expectations",
    ]);
    expect(parseTemplateVariables("Look at {{trace}}")).toEqual(["trace"]);
  });

  test("an unknown variable names itself and the allowed ones", () => {
    const make = () => makeJudge({ name: "j", model, instructions: "Rate {{ outputs }} for {{ question }}" });
    expect(make).toThrow(GavelConfigError);
    expect(make).toThrow(/\{\{ question \}\}/);
    expect(make).toThrow(/\{\{ inputs \}\}, \{\{ outputs \}\}, \{\{ expectations \}\}, \{\{ trace \}\}/);
  });

  test("a dotted or empty placeholder is unknown too", () => {
    expect(() => parseTemplateVariables("{{ inputs.question }}")).toThrow(/inputs\.question/);
    expect(() => parseTemplateVariables("{{ }} and {{ outputs }}")).toThrow(/unknown template variable/);
  });

  test("instructions without any variable are rejected", () => {
    expect(() => makeJudge({ name: "j", model, instructions: "Is it good?" })).toThrow(
      /use no template variable.*\{\{ inputs \}\}, \{\{ outputs \}\}, \{\{ expectations \}\}, \{\{ trace \}\}/s,
    );
  });

  test("a missing argument at call time throws, naming the variable and the allowed ones", async () => {
    const judge = makeJudge({ name: "j", model, instructions: "Is {{ outputs }} a good answer to {{ inputs }}?" });
    await expect(judge({ inputs: { q: "hi" } })).rejects.toThrow(GavelConfigError);
    await expect(judge({ inputs: { q: "hi" } })).rejects.toThrow(/uses \{\{ outputs \}\} but the call has no `outputs`/);
    await expect(judge({ inputs: { q: "hi" } })).rejects.toThrow(/allowed variables: \{\{ inputs \}\}/);
    await expect(judge({})).rejects.toThrow(/uses \{\{ outputs \}\}.*also missing: inputs/);
  });

  test("expectations and trace are checked like the others", async () => {
    const j1 = makeJudge({ name: "j", model, instructions: "Compare {{ outputs }} with {{ expectations }}" });
    await expect(j1({ outputs: "x" })).rejects.toThrow(/\{\{ expectations \}\}/);
    const j2 = makeJudge({ name: "j", model, instructions: "Review {{ trace }}" });
    await expect(j2({ outputs: "x" })).rejects.toThrow(/\{\{ trace \}\}/);
  });

  test("null counts as given; undefined does not", () => {
    expect(() => assertArguments(["outputs"], { outputs: null }, "j")).not.toThrow();
    expect(() => assertArguments(["outputs"], { outputs: undefined }, "j")).toThrow();
  });

  test("values: strings verbatim, the rest as JSON", () => {
    expect(formatValue("plain")).toBe("plain");
    expect(formatValue({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(formatValue(3)).toBe("3");
  });

  test("other configuration errors", () => {
    expect(() => makeJudge({ name: "", model, instructions: "{{ outputs }}" })).toThrow(/"name" is required/);
    expect(() => makeJudge({ name: "j", model: "gpt-4o", instructions: "{{ outputs }}" })).toThrow(/Invalid model URI "gpt-4o".*<provider>:\/<model>/);
    expect(() => makeJudge({ name: "j", model: "openai://gpt-4o", instructions: "{{ outputs }}" })).toThrow(/Invalid model URI/);
    expect(() => makeJudge({ name: "j", model: "mistral:/large", instructions: "{{ outputs }}" })).toThrow(/unknown model provider "mistral"/);
    expect(() => makeJudge({ name: "j", model, instructions: "{{ outputs }}", feedbackValueType: ["only"] })).toThrow(/at least two/);
    expect(() => makeJudge({ name: "j", model, instructions: "{{ outputs }}", feedbackValueType: "date" as never })).toThrow(/feedbackValueType must be/);
  });
});
