import { GavelConfigError } from "./errors.js";

/** `conversation` is a session's turns (judge({ session })); it combines with `expectations` only, as in MLflow. */
export const TEMPLATE_VARIABLES = ["inputs", "outputs", "expectations", "trace", "conversation"] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

const allowedList = (): string => TEMPLATE_VARIABLES.map((v) => `{{ ${v} }}`).join(", ");

function isTemplateVariable(name: string): name is TemplateVariable {
  return (TEMPLATE_VARIABLES as readonly string[]).includes(name);
}

/**
 * The template variables the instructions use, in order of first use. Accepts `{{ x }}` and
 * `{{x}}`. Throws for an unknown variable and when none is used (a judge that sees no data
 * can only guess).
 */
export function parseTemplateVariables(instructions: string, judgeName = "judge"): TemplateVariable[] {
  const found: TemplateVariable[] = [];
  for (const m of instructions.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    if (!isTemplateVariable(name)) {
      throw new GavelConfigError(
        `Judge "${judgeName}": unknown template variable {{ ${name} }} in the instructions. ` +
          `Allowed variables: ${allowedList()}.`,
      );
    }
    if (!found.includes(name)) found.push(name);
  }
  if (found.includes("conversation") && found.some((v) => v !== "conversation" && v !== "expectations")) {
    throw new GavelConfigError(
      `Judge "${judgeName}": a {{ conversation }} judge may only also use {{ expectations }} (found ${found
        .filter((v) => v !== "conversation" && v !== "expectations")
        .map((v) => `{{ ${v} }}`)
        .join(", ")}): it judges a whole session, whose turns are in the conversation.`,
    );
  }
  if (found.length === 0) {
    throw new GavelConfigError(
      `Judge "${judgeName}": the instructions use no template variable, so the judge would see no data. ` +
        `Use at least one of ${allowedList()}, e.g. "Is {{ outputs }} a good answer to {{ inputs }}?".`,
    );
  }
  return found;
}

/** Throws naming the first variable the template uses but the call did not provide. */
export function assertArguments(
  variables: readonly TemplateVariable[],
  provided: Partial<Record<TemplateVariable, unknown>>,
  judgeName: string,
): void {
  const missing = variables.filter((v) => provided[v] === undefined);
  if (missing.length === 0) return;
  const v = missing[0]!;
  throw new GavelConfigError(
    `Judge "${judgeName}" uses {{ ${v} }} but the call has no \`${v}\`` +
      (missing.length > 1 ? ` (also missing: ${missing.slice(1).join(", ")})` : "") +
      `. Pass it, e.g. judge({ ${variables.join(", ")} }). ` +
      `This judge's variables: ${variables.map((x) => `{{ ${x} }}`).join(", ")}; allowed variables: ${allowedList()}.`,
  );
}

/** Strings go in verbatim (no quotes), everything else as indented JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "null";
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2) ?? String(value);
  } catch {
    return String(value);
  }
}
