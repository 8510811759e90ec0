/**
 * OfferFeedback: the rule-writing prompt of SIMBA's append-a-rule strategy
 * (DSPy's simba_utils.py). Given a better and a worse run of the judge on the same example,
 * the optimizer model blames the difference and advises the judge module, which has no memory
 * of its own, what to do next time.
 */
import { complete, type CallOptions } from "../complete.js";
import type { Judge } from "../judge.js";
import { parseJsonAnswer } from "../providers/params.js";
import type { JsonSchemaSpec } from "../providers/types.js";
import { formatValue } from "../template.js";
import { describeValueType } from "../value-type.js";
import type { LlmUsage, TrainingExample } from "./types.js";

/** The only module of a judge "program". */
export const JUDGE_MODULE = "judge";

/** One side of the comparison; `null` outputs/score is a blanked-out run (tie handling). */
export interface FeedbackTrajectory {
  /** The judge module's inputs, as rendered text per field. */
  inputs: Record<string, string>;
  outputs: { rationale: string; result: unknown } | null;
  score: number | null;
}

export interface OfferFeedbackRequest {
  judge: Judge;
  /** The program's current instructions (what the module is told now). */
  moduleInstructions: string;
  example: TrainingExample;
  better: FeedbackTrajectory;
  worse: FeedbackTrajectory;
}

export interface OfferFeedbackResult {
  discussion: string;
  /** Advice for the judge module; "" when the model gave none. */
  advice: string;
  usage: LlmUsage;
}

const TASK = [
  "You will be given two trajectories of an LLM-driven program's execution. Your goal is to help the program's modules build up experience on how to maximize the reward value assigned to the program's outputs if it were to receive similar inputs in the future.",
  "",
  "The module won't see its own history. It will rely on your advice balancing being concrete and being generalizable.",
  "",
  "In your advice:",
  "- Avoid boilerplate. Offer advice that would change the module's behavior for the better in the future.",
  "- Ensure that advice offered to a module M is specific to that M's specific sub-task, not the overall program.",
  "- Rely on contrasting the behavior of the worse trajectory against the better trajectory in making recommendations.",
  "- Ensure each unique module name appears exactly once as a key in the advice dictionary.",
  "- Phrase the advice as \"If the module receives …, then it should …\".",
].join("\n");

const OUTPUT_FORMAT =
  'Answer with a JSON object: "discussion", why the worse trajectory did worse (assign blame), and ' +
  `"module_advice", an object with exactly one key per module name (here: "${JUDGE_MODULE}") whose value is the advice for that module.`;

export const OFFER_FEEDBACK_SCHEMA: JsonSchemaSpec = {
  name: "offer_feedback",
  description: "Blame and per-module advice.",
  schema: {
    type: "object",
    properties: {
      discussion: { type: "string", description: "Why the worse trajectory did worse than the better one." },
      module_advice: {
        type: "object",
        properties: { [JUDGE_MODULE]: { type: "string", description: "If the module receives …, then it should …" } },
        required: [JUDGE_MODULE],
        additionalProperties: false,
      },
    },
    required: ["discussion", "module_advice"],
    additionalProperties: false,
  },
};

const MAX_ADVICE_CHARS = 2000;

function section(tag: string, body: string): string {
  return `<${tag}>\n${body}\n</${tag}>`;
}

function trajectoryText(t: FeedbackTrajectory): string {
  if (t.outputs === null) return "[]";
  return formatValue([{ module: JUDGE_MODULE, inputs: t.inputs, outputs: t.outputs }]);
}

export function offerFeedbackMessages(req: OfferFeedbackRequest): { role: "system" | "user"; content: string }[] {
  const { judge, example } = req;
  const program =
    `An LLM judge named "${judge.name}", a program with a single module, "${JUDGE_MODULE}". The module reads the data ` +
    `(${judge.templateVariables.join(", ")}) and answers with "rationale" (its reasoning) and "result" (${describeValueType(judge.feedbackValueType)}). ` +
    `The program's output is the module's output. Reward: 1 when "result" equals the human expert's label (case-insensitive), else 0.`;
  const modules = formatValue({
    [JUDGE_MODULE]: {
      instructions: req.moduleInstructions,
      input_fields: [...judge.templateVariables],
      output_fields: { rationale: "string", result: describeValueType(judge.feedbackValueType) },
    },
  });
  const inputs = formatValue(req.better.inputs);
  const oracle = formatValue({ human_label: example.label, ...(example.rationale ? { human_rationale: example.rationale } : {}) });
  const outputsOf = (t: FeedbackTrajectory) => formatValue(t.outputs ?? { "N/A": "Prediction not available" });
  const reward = (t: FeedbackTrajectory) => (t.score === null ? "N/A" : String(t.score));
  const rewardInfo = (t: FeedbackTrajectory) =>
    t.outputs === null ? "N/A" : formatValue({ judge_result: t.outputs.result, human_label: example.label, agreement: t.score });
  const user = [
    section("program_code", program),
    section("modules_defn", modules),
    section("program_inputs", inputs),
    section("oracle_metadata", oracle),
    section("worse_program_trajectories", trajectoryText(req.worse)),
    section("worse_program_outputs", outputsOf(req.worse)),
    section("worse_reward_value", reward(req.worse)),
    section("worse_reward_info", rewardInfo(req.worse)),
    section("better_program_trajectories", trajectoryText(req.better)),
    section("better_program_outputs", outputsOf(req.better)),
    section("better_reward_value", reward(req.better)),
    section("better_reward_info", rewardInfo(req.better)),
    section("module_names", formatValue([JUDGE_MODULE])),
  ].join("\n\n");
  return [
    { role: "system", content: `${TASK}\n\n${OUTPUT_FORMAT}` },
    { role: "user", content: user },
  ];
}

/** Asks `model` for advice. Throws (LLMError, or Error on an unusable answer): SIMBA then discards the candidate. */
export async function offerFeedback(model: string, req: OfferFeedbackRequest, options: CallOptions = {}): Promise<OfferFeedbackResult> {
  const res = await complete(model, { messages: offerFeedbackMessages(req), jsonSchema: OFFER_FEEDBACK_SCHEMA }, {
    ...options,
    spanAttributes: { "gavel.alignment.step": "offer_feedback", "gavel.judge.name": req.judge.name },
  });
  const usage = { calls: 1, inputTokens: res.usage.inputTokens, outputTokens: res.usage.outputTokens };
  const parsed = res.parsed !== undefined ? res.parsed : parseJsonAnswer(res.text);
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw Object.assign(new Error(`OfferFeedback: the optimizer model's answer was not a JSON object: ${res.text.slice(0, 200)}`), { usage });
  }
  const o = parsed as Record<string, unknown>;
  const ma = o["module_advice"];
  let advice = "";
  if (typeof ma === "string") advice = ma;
  else if (ma && typeof ma === "object") {
    const v = (ma as Record<string, unknown>)[JUDGE_MODULE] ?? Object.values(ma as Record<string, unknown>)[0];
    advice = typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);
  }
  advice = advice.trim();
  if (advice.length > MAX_ADVICE_CHARS) advice = advice.slice(0, MAX_ADVICE_CHARS).trimEnd() + "…";
  return { discussion: typeof o["discussion"] === "string" ? o["discussion"] : "", advice, usage };
}
