import { context, SpanStatusCode, trace as otelTrace } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import ts from "typescript";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { RUN_KEY, getLastActiveTraceId, type ActiveRun } from "./context.js";
import { setExperiment } from "./experiments.js";
import { flush, init, shutdown } from "./init.js";
import { state } from "./state.js";
import { trace } from "./trace.js";

const exporter = new InMemorySpanExporter();

beforeAll(() => {
  const r = init({ exporter, serviceName: "trace-test", maxPayloadBytes: 1000 });
  expect(r.mode).toBe("own");
});
afterAll(async () => {
  await shutdown();
});
beforeEach(async () => {
  await flush(); // spans a previous test left in the batch must not leak into this one
  exporter.reset();
  state.experimentId = undefined;
});

async function spans(): Promise<ReadableSpan[]> {
  await flush();
  return exporter.getFinishedSpans();
}
const byName = (list: ReadableSpan[], name: string): ReadableSpan => {
  const s = list.find((x) => x.name === name);
  if (!s) throw new Error(`no span ${name} in ${list.map((x) => x.name).join(", ")}`);
  return s;
};

describe("trace()", () => {
  test("sync function stays sync and records inputs and outputs", async () => {
    const add = trace(function add(a: number, b: number) {
      return a + b;
    });
    const r = add(2, 3);
    expect(r).toBe(5); // a value, not a promise
    const [s] = await spans();
    expect(s!.name).toBe("add");
    expect(s!.attributes["gavel.inputs"]).toBe("[2,3]");
    expect(s!.attributes["gavel.outputs"]).toBe("5");
    expect(s!.attributes["gavel.truncated"]).toBeUndefined();
    expect(s!.attributes["gavel.span_type"]).toBeUndefined();
    expect(s!.status.code).toBe(SpanStatusCode.UNSET);
    expect(s!.resource.attributes["service.name"]).toBe("trace-test");
  });

  test("one argument is recorded as itself, none is omitted, undefined result is omitted", async () => {
    trace(function one(x: { q: string }) {
      return x;
    })({ q: "hi" });
    trace(function none() {})();
    const list = await spans();
    expect(byName(list, "one").attributes["gavel.inputs"]).toBe('{"q":"hi"}');
    expect(byName(list, "one").attributes["gavel.outputs"]).toBe('{"q":"hi"}');
    expect(byName(list, "none").attributes["gavel.inputs"]).toBeUndefined();
    expect(byName(list, "none").attributes["gavel.outputs"]).toBeUndefined();
  });

  test("async function: awaited output, span ends after the promise settles", async () => {
    const slow = trace(async function slow(issue: string) {
      await new Promise((r) => setTimeout(r, 15));
      return { response: `ok: ${issue}` };
    });
    const p = slow("Billing");
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toEqual({ response: "ok: Billing" });
    const [s] = await spans();
    expect(s!.attributes["gavel.inputs"]).toBe('"Billing"');
    expect(s!.attributes["gavel.outputs"]).toBe('{"response":"ok: Billing"}');
    const ms = s!.duration[0] * 1e3 + s!.duration[1] / 1e6;
    expect(ms).toBeGreaterThanOrEqual(10);
  });

  test("name, spanType and attributes options; anonymous functions", async () => {
    trace((x: number) => x, { name: "custom", spanType: "LLM", attributes: { "gen_ai.request.model": "m1", k: 3 } })(1);
    trace(function (this: unknown) {
      return 1;
    })();
    const list = await spans();
    const s = byName(list, "custom");
    expect(s.attributes["gavel.span_type"]).toBe("LLM");
    expect(s.attributes["gen_ai.request.model"]).toBe("m1");
    expect(s.attributes.k).toBe(3);
    expect(list.some((x) => x.name === "anonymous")).toBe(true);
  });

  test("wrapped function keeps name, length and this", async () => {
    const obj = {
      base: 10,
      plus: trace(function plus(this: { base: number }, n: number) {
        return this.base + n;
      }),
    };
    expect(obj.plus.name).toBe("plus");
    expect(obj.plus.length).toBe(1);
    expect(obj.plus(5)).toBe(15);
  });

  test("nested traced calls are parent and child; plain OTel spans inside join the trace", async () => {
    const inner = trace(function inner(x: number) {
      otelTrace.getTracer("other-lib").startActiveSpan("plain", (s) => s.end());
      return x * 2;
    });
    const outer = trace(async function outer(x: number) {
      await Promise.resolve();
      return inner(x) + 1;
    });
    expect(await outer(4)).toBe(9);
    const list = await spans();
    const o = byName(list, "outer");
    const i = byName(list, "inner");
    const p = byName(list, "plain");
    expect(o.parentSpanContext).toBeUndefined();
    expect(i.parentSpanContext?.spanId).toBe(o.spanContext().spanId);
    expect(p.parentSpanContext?.spanId).toBe(i.spanContext().spanId);
    expect(new Set(list.map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  test("concurrent async calls keep separate parents", async () => {
    const leaf = trace(async function leaf(n: number) {
      await new Promise((r) => setTimeout(r, 5 - n));
      return n;
    });
    const root = trace(async function root(n: number) {
      return leaf(n);
    });
    await Promise.all([root(1), root(2), root(3)]);
    const list = await spans();
    for (const l of list.filter((s) => s.name === "leaf")) {
      const parent = list.find((s) => s.spanContext().spanId === l.parentSpanContext?.spanId)!;
      expect(parent.name).toBe("root");
      expect(parent.attributes["gavel.inputs"]).toBe(l.attributes["gavel.inputs"]);
    }
  });
});

describe("payloads", () => {
  test("payloads over the cap are cut to the cap in UTF-8 bytes and flagged", async () => {
    const big = "é".repeat(2000); // 4000 bytes in UTF-8
    trace(function echo(s: string) {
      return s;
    })(big);
    trace(function smallIn(_n: number) {
      return "x".repeat(5000);
    })(1);
    const list = await spans();
    const e = byName(list, "echo");
    const inputs = e.attributes["gavel.inputs"] as string;
    expect(Buffer.byteLength(inputs)).toBeLessThanOrEqual(1000);
    expect(Buffer.byteLength(inputs)).toBeGreaterThan(990);
    expect(inputs.startsWith('"éé')).toBe(true);
    expect(inputs).not.toContain("\uFFFD"); // no character split in half
    expect(e.attributes["gavel.truncated"]).toBe("inputs,outputs");
    const s = byName(list, "smallIn");
    expect(s.attributes["gavel.inputs"]).toBe("1");
    expect((s.attributes["gavel.outputs"] as string).length).toBe(1000);
    expect(s.attributes["gavel.truncated"]).toBe("outputs");
  });

  test("a payload just under the cap is kept whole", async () => {
    const s = "a".repeat(998); // 1000 bytes with the quotes
    trace(function fits(x: string) {
      return x.length;
    })(s);
    const [span] = await spans();
    expect(span!.attributes["gavel.inputs"]).toBe(JSON.stringify(s));
    expect(span!.attributes["gavel.truncated"]).toBeUndefined();
  });

  test("circular references and BigInt do not break tracing", async () => {
    const a: Record<string, unknown> = { name: "a", n: 10n };
    a.self = a;
    const shared = { v: 1 };
    const r = trace(function cyc(x: unknown, y: unknown) {
      return { big: 2n ** 70n, x };
    })(a, [shared, shared]);
    expect((r as { big: bigint }).big).toBe(2n ** 70n);
    const [s] = await spans();
    expect(JSON.parse(s!.attributes["gavel.inputs"] as string)).toEqual([
      { name: "a", n: "10", self: "[Circular]" },
      [{ v: 1 }, { v: 1 }],
    ]);
    expect(JSON.parse(s!.attributes["gavel.outputs"] as string)).toEqual({
      big: "1180591620717411303424",
      x: { name: "a", n: "10", self: "[Circular]" },
    });
  });

  test("a throwing getter or toJSON costs only that property", async () => {
    const bad = {
      ok: 1,
      get boom(): number {
        throw new Error("nope");
      },
      nested: { toJSON: () => { throw new Error("bad toJSON"); } },
    };
    trace(function weird(x: unknown) {
      return 0;
    })(bad);
    const [s] = await spans();
    expect(JSON.parse(s!.attributes["gavel.inputs"] as string)).toEqual({
      ok: 1,
      boom: "[Unserializable: nope]",
      nested: "[Unserializable: bad toJSON]",
    });
  });
});

describe("errors", () => {
  test("a sync throw sets ERROR, records the exception and rethrows the same error", async () => {
    const err = new TypeError("bad input");
    const f = trace(function failing() {
      throw err;
    });
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(err);
    const [s] = await spans();
    expect(s!.status).toEqual({ code: SpanStatusCode.ERROR, message: "bad input" });
    const ev = s!.events.find((e) => e.name === "exception")!;
    expect(ev.attributes!["exception.type"]).toBe("TypeError");
    expect(ev.attributes!["exception.message"]).toBe("bad input");
    expect(ev.attributes!["exception.stacktrace"]).toContain("bad input");
    expect(s!.attributes["gavel.outputs"]).toBeUndefined();
  });

  test("a rejected promise sets ERROR and rejects with the same error; non-Error values too", async () => {
    const err = new Error("later");
    await expect(
      trace(async function rejecting() {
        await Promise.resolve();
        throw err;
      })(),
    ).rejects.toBe(err);
    expect(() =>
      trace(function throwsString() {
        throw "plain string";
      })(),
    ).toThrow("plain string");
    const list = await spans();
    const r = byName(list, "rejecting");
    expect(r.status).toEqual({ code: SpanStatusCode.ERROR, message: "later" });
    expect(r.events.some((e) => e.name === "exception" && e.attributes!["exception.message"] === "later")).toBe(true);
    const t = byName(list, "throwsString");
    expect(t.status).toEqual({ code: SpanStatusCode.ERROR, message: "plain string" });
    expect(t.events[0]!.attributes!["exception.message"]).toBe("plain string");
  });
});

describe("@trace decorator", () => {
  test("legacy (target, key, descriptor) form, called directly", async () => {
    class Svc {
      factor = 3;
      run(x: number): number {
        return x * this.factor;
      }
    }
    const d = Object.getOwnPropertyDescriptor(Svc.prototype, "run")!;
    const out = trace({ spanType: "TOOL" })(Svc.prototype, "run", d);
    Object.defineProperty(Svc.prototype, "run", out);
    // Bare `@trace` (no call) in legacy mode passes the descriptor straight in.
    class Bare {
      go(): string {
        return "went";
      }
    }
    Object.defineProperty(Bare.prototype, "go", trace(Bare.prototype, "go", Object.getOwnPropertyDescriptor(Bare.prototype, "go")!));
    expect(new Svc().run(2)).toBe(6);
    expect(new Bare().go()).toBe("went");
    const list = await spans();
    expect(byName(list, "run").attributes["gavel.span_type"]).toBe("TOOL");
    expect(byName(list, "run").attributes["gavel.inputs"]).toBe("2");
    expect(byName(list, "go").attributes["gavel.outputs"]).toBe('"went"');
  });

  test("standard (value, context) form, called directly", async () => {
    const method = function score(this: { w: number }, x: number) {
      return x * this.w;
    };
    const ctx = { kind: "method", name: "score", static: false, private: false } as unknown as ClassMethodDecoratorContext;
    const wrapped = trace({ name: "Scorer.score" })(method, ctx);
    expect(wrapped.call({ w: 2 }, 21)).toBe(42);
    const [s] = await spans();
    expect(s!.name).toBe("Scorer.score");
    expect(s!.attributes["gavel.outputs"]).toBe("42");
    expect(() => trace()(method, { kind: "field", name: "f" } as unknown as ClassMethodDecoratorContext)).toThrow(/methods/);
  });

  // Vitest's transformer (oxc) does not lower decorators, so compile real decorator syntax with
  // the TypeScript compiler in both modes and run its output.
  function compileAndRun(source: string, experimentalDecorators: boolean): Record<string, unknown> {
    const js = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, experimentalDecorators },
    }).outputText;
    const exports: Record<string, unknown> = {};
    new Function("exports", "trace", js)(exports, trace);
    return exports;
  }
  const source = `
    export class Agent {
      prefix = "A:";
      @trace({ spanType: "AGENT" })
      async answer(q: string) { return this.prefix + q; }
      @trace
      plain(n: number) { return n + 1; }
      @trace({ name: "Agent.stat" })
      static stat() { return "s"; }
    }`;

  for (const legacy of [false, true]) {
    test(`TypeScript ${legacy ? "experimentalDecorators" : "standard (TC39)"} syntax`, async () => {
      const { Agent } = compileAndRun(source, legacy) as {
        Agent: { new (): { answer(q: string): Promise<string>; plain(n: number): number }; stat(): string };
      };
      const a = new Agent();
      expect(await a.answer("q")).toBe("A:q");
      expect(a.plain(1)).toBe(2);
      expect(Agent.stat()).toBe("s");
      const list = await spans();
      const ans = byName(list, "answer");
      expect(ans.attributes["gavel.span_type"]).toBe("AGENT");
      expect(ans.attributes["gavel.inputs"]).toBe('"q"');
      expect(ans.attributes["gavel.outputs"]).toBe('"A:q"');
      expect(byName(list, "plain").attributes["gavel.outputs"]).toBe("2");
      expect(byName(list, "Agent.stat").attributes["gavel.outputs"]).toBe('"s"');
    });
  }
});

describe("experiment and run ids", () => {
  test("every span carries the current experiment, including other libraries' spans", async () => {
    setExperiment({ experimentId: "exp-1" });
    trace(function withExp() {
      otelTrace.getTracer("lib").startSpan("lib-span").end();
    })();
    otelTrace.getTracer("lib").startSpan("outside-trace").end();
    const list = await spans();
    expect(list).toHaveLength(3);
    for (const s of list) {
      expect(s.attributes["gavel.experiment_id"]).toBe("exp-1");
      expect(s.attributes["gavel.run_id"]).toBeUndefined();
    }
  });

  test("inside a run every span carries the run id and the run's experiment", async () => {
    setExperiment({ experimentId: "exp-global" });
    const run: ActiveRun = { runId: "run-7", experimentId: "exp-run", name: "r" };
    const app = trace(async function app() {
      await Promise.resolve();
      otelTrace.getTracer("lib").startActiveSpan("lib-child", (s) => s.end());
      return 1;
    });
    await context.with(context.active().setValue(RUN_KEY, run), async () => {
      await app();
      await new Promise((r) => setTimeout(r, 1));
      otelTrace.getTracer("lib").startSpan("lib-after-await").end();
    });
    trace(function afterRun() {})();
    const list = await spans();
    for (const name of ["app", "lib-child", "lib-after-await"]) {
      expect(byName(list, name).attributes["gavel.run_id"]).toBe("run-7");
      expect(byName(list, name).attributes["gavel.experiment_id"]).toBe("exp-run");
    }
    expect(byName(list, "afterRun").attributes["gavel.run_id"]).toBeUndefined();
    expect(byName(list, "afterRun").attributes["gavel.experiment_id"]).toBe("exp-global");
  });

  test("an explicit gavel.experiment_id attribute wins", async () => {
    setExperiment({ experimentId: "exp-1" });
    trace(() => 1, { name: "explicit", attributes: { "gavel.experiment_id": "mine" } })();
    const [s] = await spans();
    expect(s!.attributes["gavel.experiment_id"]).toBe("mine");
  });
});

describe("getLastActiveTraceId", () => {
  test("is the trace of the last top-level traced call, sync or async", async () => {
    const child = trace(function child() {
      return 1;
    });
    const top = trace(function top() {
      return child();
    });
    top();
    const first = getLastActiveTraceId();
    const list = await spans();
    expect(first).toBe(byName(list, "top").spanContext().traceId);

    const asyncTop = trace(async function asyncTop() {
      await new Promise((r) => setTimeout(r, 2));
      return child();
    });
    await asyncTop();
    const second = getLastActiveTraceId();
    expect(second).not.toBe(first);
    expect(second).toBe(byName(await spans(), "asyncTop").spanContext().traceId);
  });

  test("also follows root spans of other instrumentation", async () => {
    otelTrace.getTracer("lib").startSpan("foreign-root").end();
    const [s] = await spans();
    expect(getLastActiveTraceId()).toBe(s!.spanContext().traceId);
  });
});
