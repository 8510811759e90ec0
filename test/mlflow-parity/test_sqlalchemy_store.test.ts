/**
 * MLflow parity: traces linked to runs, from MLflow's tests/store/tracking/test_sqlalchemy_store.py
 * (`store.link_traces_to_run(trace_ids, run_id)`, then `search_traces` by run). Each test names
 * the MLflow test whose expectations it restates, against Gavel's SDK (`linkTracesToRun`,
 * `searchTraces`) and a real collector on chDB.
 *
 * How MLflow's fixtures map to Gavel: a trace with `mlflow.sourceRun` metadata is a trace whose
 * root span carries `gavel.run_id` (support.ts); MLflow's entity association is a row of
 * `gavel_trace_run_links`. MLflow's runs are `store.create_run(…)`; here `startRun`.
 */
import { describe, expect, it } from "vitest";
import { GavelApiError, linkTracesToRun, searchTraces, startRun, unlinkTracesFromRun } from "@gavel/sdk";
import { newExperiment, parityGavel, sendTraces, type TraceSpec } from "./support.js";

const gavelOf = parityGavel();

/** MLflow's `store.create_run(exp_id, …)`: a run of the experiment (ended; links do not care). */
const createRun = (experimentId: string, name: string) => startRun({ experimentId, name }, (run) => run.runId);

// Labels of every trace this file sent, so that searches name traces of earlier fixtures too.
const labelOf = new Map<string, string>();

/** Sends the traces; returns label → trace id and a search answering label sets. */
async function fixture(exp: string, traces: Record<string, Omit<TraceSpec, "experimentId" | "name">>) {
  const labels = Object.keys(traces);
  const ids = await sendTraces(
    gavelOf().url,
    labels.map((l) => ({ name: l, ...traces[l]!, experimentId: exp })),
  );
  const idOf = Object.fromEntries(labels.map((l, i) => [l, ids[i]!]));
  ids.forEach((id, i) => labelOf.set(id, labels[i]!));
  const labelsOf = (list: { info: { traceId: string } }[]) => list.map((t) => labelOf.get(t.info.traceId) ?? t.info.traceId);
  const search = async (filter: string) => labelsOf(await searchTraces({ experimentIds: [exp], filter }));
  return { idOf, search, labelsOf, set: async (filter: string) => new Set(await search(filter)) };
}

describe("MLflow tests/store/tracking/test_sqlalchemy_store.py", () => {
  it("test_search_traces_with_run_id_filter", async () => {
    const exp = await newExperiment("run-filter");
    const run = await createRun(exp, "test_run");
    const { idOf, search, set, labelsOf } = await fixture(exp, {
      // Trace 1: the run in its own metadata (made inside the run).
      "tr-direct": { runId: run },
      // Trace 2: linked afterwards.
      "tr-linked": {},
      // Trace 3: both.
      "tr-both": { runId: run },
      // Trace 4: no association with the run.
      "tr-unrelated": {},
    });
    expect(await linkTracesToRun({ traceIds: [idOf["tr-linked"]!], runId: run })).toEqual([idOf["tr-linked"]]);
    await linkTracesToRun({ traceIds: [idOf["tr-both"]!], runId: run });

    expect(await set(`attributes.run_id = "${run}"`)).toEqual(new Set(["tr-direct", "tr-linked", "tr-both"]));

    // Another run, to check isolation.
    const run2 = await createRun(exp, "test_run2");
    const more = await fixture(exp, { "tr-run2": {} });
    await linkTracesToRun({ traceIds: [more.idOf["tr-run2"]!], runId: run2 });
    expect(await more.set(`attributes.run_id = "${run2}"`)).toEqual(new Set(["tr-run2"]));
    // The first run's search is unchanged.
    expect(await set(`attributes.run_id = "${run}"`)).toEqual(new Set(["tr-direct", "tr-linked", "tr-both"]));

    // Gavel, beyond MLflow's test: linking again is one link (a trace is listed once), a trace
    // may belong to several runs, `!=` excludes linked traces, and searchTraces({ runId }) is
    // MLflow's `mlflow.search_traces(run_id=…)` (its experiment by default).
    await linkTracesToRun({ traceIds: [idOf["tr-linked"]!, idOf["tr-linked"]!.toUpperCase()], runId: run });
    await linkTracesToRun({ traceIds: [idOf["tr-linked"]!], runId: run });
    await linkTracesToRun({ traceIds: [idOf["tr-linked"]!], runId: run2 });
    const byRun = await search(`trace.run_id = '${run}'`);
    expect(byRun.sort()).toEqual(["tr-both", "tr-direct", "tr-linked"]);
    expect(new Set(await more.search(`trace.run_id = '${run2}'`))).toEqual(new Set(["tr-run2", "tr-linked"]));
    expect(new Set(await search(`trace.run_id != '${run}'`))).toEqual(new Set(["tr-unrelated", "tr-run2"]));
    expect(new Set(labelsOf(await searchTraces({ runId: run })))).toEqual(new Set(["tr-direct", "tr-linked", "tr-both"]));
    expect(new Set(labelsOf(await searchTraces({ runId: run, filter: "trace.name LIKE 'tr-b%'" })))).toEqual(new Set(["tr-both"]));
  });

  it("test_search_traces_with_run_id_and_other_filters", async () => {
    const exp = await newExperiment("combined-filters");
    const run = await createRun(exp, "test_run");
    const { idOf, set } = await fixture(exp, {
      "tr-tag1-linked": { tags: { type: "training" } },
      "tr-tag2-linked": { tags: { type: "inference" } },
      "tr-tag1-notlinked": { tags: { type: "training" } },
    });
    await linkTracesToRun({ traceIds: [idOf["tr-tag1-linked"]!], runId: run });
    await linkTracesToRun({ traceIds: [idOf["tr-tag2-linked"]!], runId: run });

    // Linked to the run AND tagged training.
    expect(await set(`run_id = "${run}" AND tags.type = "training"`)).toEqual(new Set(["tr-tag1-linked"]));
    expect(await set(`run_id = "${run}"`)).toEqual(new Set(["tr-tag1-linked", "tr-tag2-linked"]));
  });

  it("a link to a run that does not exist is refused (MLflow: \"Run with id=… not found\")", async () => {
    // MLflow tests/store/tracking/test_sqlalchemy_workspace_store.py, test_link_traces_to_run_is_workspace_scoped:
    // a run the store cannot see raises "Run with id=.* not found" and links nothing.
    const exp = await newExperiment("no-run");
    const { idOf, set } = await fixture(exp, { t: {} });
    const err = await linkTracesToRun({ traceIds: [idOf.t!], runId: "no-such-run" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelApiError);
    expect((err as GavelApiError).status).toBe(404);
    expect((err as GavelApiError).message).toMatch(/404 NOT_FOUND: Run with id=no-such-run not found\. Start one with POST \/api\/v1\/runs/);
    expect(await set("trace.run_id = 'no-such-run'")).toEqual(new Set());
  });

  it("a trace linked before it is stored is found once it arrives (Gavel: links wait for their traces)", async () => {
    // Deliberate difference: MLflow skips trace ids it does not hold. Gavel's traces arrive
    // through an exporter, possibly after the link, so the link is kept for when they do.
    const exp = await newExperiment("early-link");
    const run = await createRun(exp, "r");
    const early = "0123456789abcdef0123456789abcdef";
    expect(await linkTracesToRun({ traceIds: [early], runId: run })).toEqual([early]);
    const { idOf, set } = await fixture(exp, { late: {} });
    await linkTracesToRun({ traceIds: [idOf.late!], runId: run });
    expect(await set(`trace.run_id = '${run}'`)).toEqual(new Set(["late"]));
  });

  it("unlink_traces_from_run: a linked trace leaves the run, the run's own traces stay (MLflow's MlflowClient.unlink_traces_from_run)", async () => {
    const exp = await newExperiment("unlink");
    const run = await createRun(exp, "r");
    const other = await createRun(exp, "other");
    const { idOf, set } = await fixture(exp, { own: { runId: run }, linked: {}, both: {} });
    await linkTracesToRun({ traceIds: [idOf.linked!, idOf.both!, idOf.own!], runId: run });
    await linkTracesToRun({ traceIds: [idOf.both!], runId: other });
    expect(await set(`trace.run_id = '${run}'`)).toEqual(new Set(["own", "linked", "both"]));

    // Unlinking right after linking (the same millisecond, unmerged rows) is seen at once.
    expect(await unlinkTracesFromRun({ traceIds: [idOf.linked!, idOf.both!, idOf.own!], runId: run })).toEqual([idOf.linked, idOf.both, idOf.own]);
    // The trace made inside the run stays; the other run keeps its link.
    expect(await set(`trace.run_id = '${run}'`)).toEqual(new Set(["own"]));
    expect(await set(`trace.run_id = '${other}'`)).toEqual(new Set(["both"]));
    expect(await set(`trace.run_id != '${run}'`)).toEqual(new Set(["linked", "both"]));
    // Unlinking again does nothing; linking again brings the trace back.
    await unlinkTracesFromRun({ traceIds: [idOf.linked!], runId: run });
    await linkTracesToRun({ traceIds: [idOf.linked!], runId: run });
    expect(await set(`trace.run_id = '${run}'`)).toEqual(new Set(["own", "linked"]));
    // MLflow's client checks: nothing to unlink returns at once; an empty runId is refused.
    await expect(unlinkTracesFromRun({ traceIds: [], runId: "" })).resolves.toEqual([]);
    await expect(unlinkTracesFromRun({ traceIds: [idOf.linked!], runId: "" })).rejects.toThrow(/runId cannot be empty/);
    const err = await unlinkTracesFromRun({ traceIds: [idOf.linked!], runId: "no-such-run" }).catch((e: unknown) => e);
    expect((err as GavelApiError).status).toBe(404);
  });

  it("the REST route: body checks and its answer", async () => {
    const url = gavelOf().url;
    const exp = await newExperiment("rest-link");
    const run = await createRun(exp, "r");
    const post = async (body: unknown, runId = run) => {
      const res = await fetch(`${url}/api/v1/runs/${runId}/traces`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
      return { status: res.status, json: (await res.json()) as { traceIds?: string[]; error?: { code: string; message: string } } };
    };
    const many = Array.from({ length: 101 }, (_, i) => i.toString(16).padStart(32, "0"));
    const tooMany = await post({ traceIds: many });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error).toEqual({
      code: "TOO_MANY_TRACES",
      message: "Cannot link more than 100 traces to a run in a single request. Provided 101 traces. Send them in several requests.",
      field: "traceIds",
    });
    expect((await post({ traceIds: many.slice(0, 100) })).json.traceIds).toHaveLength(100);
    const bad = await post({ traceIds: ["tr-123"] });
    expect(bad.status).toBe(400);
    expect(bad.json.error?.code).toBe("INVALID_TRACE_ID");
    expect((await post({ traceIds: [], extra: 1 })).status).toBe(400);
    // Nothing to link: answered at once, even for an unknown run (MLflow's client returns first).
    expect(await post({ traceIds: [] }, "nope")).toEqual({ status: 200, json: { runId: "nope", traceIds: [] } });
  });
});
