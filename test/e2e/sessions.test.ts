/**
 * Sessions end to end: traces grouped by their session id (MLflow's `mlflow.trace.session`
 * metadata, or OpenTelemetry/OpenInference `session.id`), listed and fetched over REST and the
 * SDK, judged as one conversation by a `{{ conversation }}` judge (LLM simulator), and the
 * session-level feedback stored on the session's first trace with the session in its metadata,
 * as MLflow does.
 */
import { describe, expect, it } from "vitest";
import { getSession, logAssessment, makeJudge, searchSessions, searchTraces } from "@gavel/sdk";
import { useSimEnv } from "../../packages/judges/src/testing/sim.js";
import { newExperiment, parityGavel, sendTraces } from "../mlflow-parity/support.js";

const gavelOf = parityGavel();
const simEnv = useSimEnv({ resetEachTest: true });

const turn = (session: string, key: string, q: string, a: string, startMs: number, experimentId: string) => ({
  name: "chat",
  startMs,
  experimentId,
  attributes: { [key]: session, "gavel.inputs": JSON.stringify({ question: q }), "gavel.outputs": JSON.stringify({ answer: a }) },
});

describe("sessions", () => {
  it("groups traces by session, serves a session's traces oldest first, and judges the conversation", async () => {
    const exp = await newExperiment("sessions");
    await sendTraces(gavelOf().url, [
      turn("s-1", "gavel.metadata.mlflow.trace.session", "How do I reset my password?", "Use the reset link.", 2000, exp),
      turn("s-1", "gavel.metadata.mlflow.trace.session", "Hi", "Hello! How can I help?", 1000, exp),
      turn("s-2", "session.id", "Where is my order?", "It ships tomorrow.", 5000, exp),
      { name: "no-session", startMs: 6000, experimentId: exp },
    ]);
    const sessions = await searchSessions({ experimentId: exp });
    expect(sessions.map((s) => [s.sessionId, s.traceCount])).toEqual([
      ["s-2", 1],
      ["s-1", 2],
    ]);
    expect(sessions[1]!.lastMs - sessions[1]!.firstMs).toBe(1000);

    const s1 = await getSession({ experimentId: exp, sessionId: "s-1" });
    expect(s1.map((t) => t.info.inputs)).toEqual([{ question: "Hi" }, { question: "How do I reset my password?" }]);
    const missing = await fetch(`${gavelOf().url}/api/v1/experiments/${exp}/sessions/nope`);
    expect(missing.status).toBe(404);

    // MLflow's metadata filter finds the session's traces too.
    expect(await searchTraces({ experimentIds: [exp], filter: "metadata.`mlflow.trace.session` = 's-1'" })).toHaveLength(2);

    const judge = makeJudge({ name: "resolved", instructions: "Was the user's problem solved in {{ conversation }}?", model: "openai:/gpt-4o-mini", feedbackValueType: "boolean" });
    const fb = await judge({ session: s1 });
    expect(fb.error).toBeUndefined();
    const user = simEnv().sim.lastRequest("openai.chat")!.body.messages[1].content as string;
    expect(user.indexOf('{\\"question\\":\\"Hi\\"}')).toBeLessThan(user.indexOf("reset my password"));
    await logAssessment({ traceId: s1[0]!.info.traceId, assessment: { ...fb, metadata: { ...fb.metadata, "mlflow.trace.session": "s-1" } } });
    const first = (await getSession({ experimentId: exp, sessionId: "s-1" }))[0]!;
    expect(first.searchAssessments({ name: "resolved" })[0]!.metadata["mlflow.trace.session"]).toBe("s-1");

    // An OpenTelemetry session.id session works the same way.
    const s2 = await getSession({ experimentId: exp, sessionId: "s-2" });
    expect((await judge({ session: s2 })).error).toBeUndefined();
  });
});
