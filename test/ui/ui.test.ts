/**
 * The web UI in real headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against an in-process collector with API keys enabled and seeded traces. Every write made
 * through the UI is checked through the REST API, not only in the DOM. Screenshots of each
 * page go to test/artifacts/ (git-ignored). Needs the built UI: `npm test` builds it first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { context, trace as otTrace, SpanStatusCode } from "@opentelemetry/api";
import { parseApiKeys } from "../../collector/src/auth/api-keys.js";
import { useGavel } from "../support/use-gavel.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const UI_DIR = join(ROOT, "collector/dist/ui");
const ARTIFACTS = join(ROOT, "test/artifacts");
const CHROMIUM = process.env.GAVEL_CHROMIUM ?? "/usr/bin/chromium";

const ADMIN = "ui-admin-key-0123456789abcdef";
const REVIEWER = "ui-review-key-0123456789abcd";
const READER = "ui-reader-key-0123456789abcd";
const gavelOf = useGavel({ apiKeys: parseApiKeys(`${ADMIN}:admin,${REVIEWER}:read+write,${READER}:read`) });

if (!existsSync(join(UI_DIR, "index.html"))) {
  throw new Error(`The web UI is not built (${UI_DIR}/index.html is missing). Run \`npm run build\` (npm test does it) before the browser tests.`);
}
if (!existsSync(CHROMIUM)) {
  throw new Error(`Chromium is not installed at ${CHROMIUM}. Install Debian's package: apt-get install -y chromium (.ci/run does).`);
}

async function api<T = any>(method: string, path: string, body?: unknown, key = ADMIN): Promise<T> {
  const res = await fetch(`${gavelOf().url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const XSS = {
  name: '<img src=x onerror="window.__xss=1">',
  input: "<script>window.__xss=2</script>",
  output: '<img src=x onerror="window.__xss=3">',
  attr: "<script>window.__xss=4</script><svg onload=window.__xss=5>",
  span: "<b onmouseover=window.__xss=6>bold</b>",
  rationale: "<iframe src=javascript:window.__xss=7></iframe>",
};
const ISSUES = [
  "Password reset not working",
  "Billing discrepancy",
  "Feature request",
  "Technical error",
  "Cannot export CSV",
  "Refund request",
  "Slow dashboard",
  "Two-factor codes not arriving",
  "Wrong invoice address",
  "Account locked",
  "API rate limits",
  "Delete my data",
];

interface Seeded {
  experimentId: string;
  /** Newest first, the Traces tab's default order; the last one is the XSS trace. */
  traces: { traceId: string; rootSpanId: string; retrieveSpanId: string; llmSpanId: string }[];
  judgeIds: Map<string, string>;
}
let seeded: Seeded;

/** Real spans from the OpenTelemetry SDK, posted as OTLP/JSON like any app's exporter. */
async function seed(): Promise<Seeded> {
  const { experimentId } = await api<{ experimentId: string }>("POST", "/api/v1/experiments", { name: "support-judge-development" });
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "support-app" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("ui-test");
  const now = Date.now();
  const traces: Seeded["traces"] = [];
  const n = ISSUES.length + 1;
  for (let i = 0; i < n; i++) {
    const xss = i === n - 1;
    const issue = xss ? XSS.input : ISSUES[i]!;
    const response = xss ? XSS.output : `I'll help you with: ${issue}`;
    const start = now - (i + 1) * 60_000;
    const dur = 120 + i * 37;
    const common = { "gavel.experiment_id": experimentId };
    const root = tracer.startSpan(xss ? XSS.name : "customerSupportApp", {
      startTime: start,
      attributes: {
        ...common,
        "gavel.span_type": "CHAIN",
        "gavel.inputs": JSON.stringify({ issue }),
        "gavel.outputs": JSON.stringify({ response }),
        "gavel.tag.env": "prod",
        ...(xss ? { note: XSS.attr } : {}),
      },
    });
    const ctx = otTrace.setSpan(context.active(), root);
    const retrieve = tracer.startSpan(
      xss ? XSS.span : "retrieve_docs",
      { startTime: start + 5, attributes: { ...common, "gavel.span_type": "RETRIEVER", "gavel.inputs": JSON.stringify({ query: issue }), "gavel.outputs": JSON.stringify(["kb/123", "kb/456"]) } },
      ctx,
    );
    retrieve.addEvent("cache_miss", { "cache.key": `kb:${i}` }, start + 8);
    retrieve.end(start + 30);
    const llm = tracer.startSpan(
      "chat gpt-4o-mini",
      {
        startTime: start + 32,
        attributes: {
          ...common,
          "gavel.span_type": "LLM",
          "gen_ai.request.model": "gpt-4o-mini",
          "gavel.inputs": JSON.stringify({ messages: [{ role: "system", content: "You are a support agent." }, { role: "user", content: issue }] }),
          "gavel.outputs": JSON.stringify({ choices: [{ message: { role: "assistant", content: response } }] }),
        },
      },
      ctx,
    );
    llm.end(start + dur - 10);
    if (i === 1) {
      root.recordException(new Error("upstream timeout"));
      root.setStatus({ code: SpanStatusCode.ERROR, message: "upstream timeout" });
    }
    root.end(start + dur);
    traces.push({ traceId: root.spanContext().traceId, rootSpanId: root.spanContext().spanId, retrieveSpanId: retrieve.spanContext().spanId, llmSpanId: llm.spanContext().spanId });
  }
  const res = await fetch(`${gavelOf().url}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` },
    body: Buffer.from(JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans())!),
  });
  expect(res.status).toBe(200);

  // The judge: an error on t0, low confidence on t2, a rare "excellent" on t3, "good" elsewhere.
  const judge = { sourceType: "LLM_JUDGE", sourceId: "openai:/gpt-4o-mini" };
  const judgeIds = new Map<string, string>();
  for (const [i, t] of traces.entries()) {
    const body: Record<string, unknown> = { name: "support_quality", source: judge, value: "good", rationale: "Addresses the issue politely." };
    if (i === 0) Object.assign(body, { value: null, error: { code: "TIMEOUT", message: "model timed out after 3 retries" }, rationale: undefined });
    if (i === 2) Object.assign(body, { value: "poor", metadata: { confidence: 0.35 }, rationale: "Unclear next steps." });
    if (i === 3) Object.assign(body, { value: "excellent" });
    if (i === n - 1) Object.assign(body, { rationale: XSS.rationale });
    const a = await api<{ assessmentId: string }>("POST", `/api/v1/traces/${t.traceId}/assessments`, body);
    judgeIds.set(t.traceId, a.assessmentId);
  }
  const human = (sourceId: string) => ({ sourceType: "HUMAN", sourceId });
  await api("POST", `/api/v1/traces/${traces[4]!.traceId}/assessments`, { name: "support_quality", value: "good", source: human("ground_truth") });
  await api("POST", `/api/v1/traces/${traces[5]!.traceId}/assessments`, { name: "support_quality", value: "poor", source: human("ground_truth") });
  return { experimentId, traces, judgeIds };
}

let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const metrics: Record<string, unknown> = {};

async function shot(p: Page, name: string) {
  await p.screenshot({ path: join(ARTIFACTS, name), fullPage: false });
}

function watch(p: Page) {
  p.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  p.on("console", (m) => {
    // HTTP error answers are logged by the browser too; they are expected (401 before the key is
    // entered, 400 for a bad filter or SQL sent on purpose, 404 from an optional API the server
    // lacks) and the UI shows them. Anything else (CSP violations, React errors) is a bug.
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
  p.on("dialog", (d) => {
    pageErrors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  seeded = await seed();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await ctx.newPage();
  watch(page);
}, 120_000);

afterAll(async () => {
  writeFileSync(join(ARTIFACTS, "ui-metrics.json"), `${JSON.stringify(metrics, null, 2)}\n`);
  await browser?.close();
});

const url = (path: string) => `${gavelOf().url}${path}`;
const expPath = (rest = "") => `/experiments/${encodeURIComponent(seeded.experimentId)}${rest}`;
const t = (i: number) => seeded.traces[i]!;

describe("web UI in Chromium", () => {
  it("asks for an API key, keeps it for the session only, and shows what it may do", async () => {
    await page.goto(url("/"));
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    await dialog.locator('input[name="apiKey"]').fill(REVIEWER);
    await dialog.getByRole("button", { name: "Use key" }).click();
    await dialog.getByText("Key accepted").waitFor();
    await expect(dialog.locator(".roles li").allInnerTexts()).resolves.toEqual([expect.stringMatching(/^read:/), expect.stringMatching(/^write:/)]);
    await dialog.getByRole("button", { name: "Done" }).click();
    expect(await page.evaluate(() => sessionStorage.getItem("gavel.apiKey"))).toBe(REVIEWER);
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(REVIEWER);
    await expect(page.getByTestId("key-status").innerText()).resolves.toMatch(/read, write/);
  });

  it("lists experiments with trace counts, latest activity and judges; the first screen loads fast", async () => {
    await page.goto(url("/"));
    const row = page.locator("tr", { hasText: "support-judge-development" });
    await row.waitFor();
    expect(await row.innerText()).toContain(String(seeded.traces.length));
    expect(await row.innerText()).toMatch(/min ago|just now|s ago/);
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      const mark = (n: string) => performance.getEntriesByName(n)[0]?.startTime ?? null;
      return { domContentLoadedMs: nav.domContentLoadedEventEnd, firstContentfulPaintMs: fcp?.startTime ?? null, appFirstRenderMs: mark("gavel:first-render"), experimentsShownMs: mark("gavel:data-rendered") };
    });
    const assets = readdirSync(join(UI_DIR, "assets")).map((f) => {
      const buf = readFileSync(join(UI_DIR, "assets", f));
      return { file: f, bytes: statSync(join(UI_DIR, "assets", f)).size, gzipBytes: gzipSync(buf).length };
    });
    Object.assign(metrics, { timing, assets, totalGzipBytes: assets.reduce((s, a) => s + a.gzipBytes, 0) });
    console.log("[ui] first screen:", JSON.stringify(timing), "bundle:", JSON.stringify(assets));
    expect(timing.experimentsShownMs).not.toBeNull();
    expect(timing.experimentsShownMs!).toBeLessThan(3000);
    await shot(page, "experiments.png");
  });

  it("shows the Traces tab: judge and human values side by side, disagreements marked, filters and keyset paging", async () => {
    await page.locator("a", { hasText: "support-judge-development" }).first().click();
    await page.waitForURL(/\/traces$/);
    const rows = page.locator("tr[data-trace-id]");
    await expect.poll(() => rows.count()).toBe(seeded.traces.length);
    await page.getByRole("columnheader", { name: /support_quality/ }).waitFor();
    // t5: judge "good", human "poor" → marked; t4: both "good" → not marked.
    const t5 = page.locator(`tr[data-trace-id="${t(5).traceId}"] td[data-assessment="support_quality"]`);
    expect(await t5.innerText()).toMatch(/good\s*\|\s*poor\s*≠/);
    expect(await page.locator(`tr[data-trace-id="${t(4).traceId}"] .mark`).count()).toBe(0);
    await shot(page, "traces.png");

    // The status helper writes a filter clause; the API answers with the one failed trace.
    await page.getByLabel("Status").selectOption("ERROR");
    await expect.poll(() => page.inputValue('input[aria-label^="Trace filter"]')).toBe("trace.status = 'ERROR'");
    await expect.poll(() => rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-trace-id")))).toEqual([t(1).traceId]);
    // A filter typed in the language itself, and a mistake reported with the server's message.
    await page.fill('input[aria-label^="Trace filter"]', "feedback.support_quality = 'excellent'");
    await page.keyboard.press("Enter");
    await expect.poll(() => rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-trace-id")))).toEqual([t(3).traceId]);
    await page.fill('input[aria-label^="Trace filter"]', "trace.bogus = 1");
    await page.keyboard.press("Enter");
    await page.locator(".error", { hasText: "INVALID_FILTER" }).waitFor();
    await page.getByRole("button", { name: "Clear", exact: true }).click();
    await expect.poll(() => rows.count()).toBe(seeded.traces.length);

    // Keyset paging: 10 rows a page; Next, then Previous with the keyboard.
    await page.getByLabel("Rows").selectOption("10");
    await expect.poll(() => rows.count()).toBe(10);
    const ids = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-trace-id")));
    const first = await ids();
    await page.getByRole("button", { name: /^Next/ }).click();
    await expect.poll(() => rows.count()).toBe(seeded.traces.length - 10);
    expect(page.url()).toMatch(/[?&]page=/);
    expect([...first, ...(await ids())]).toEqual(seeded.traces.map((x) => x.traceId));
    await page.keyboard.press("[");
    await expect.poll(() => rows.count()).toBe(10);
    expect(await ids()).toEqual(first);
  });

  it("pages by keyset token through the API the UI uses", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const p = await api<{ traces: { info: { traceId: string } }[]; nextPageToken?: string }>("POST", "/api/v1/traces/search", {
        experimentIds: [seeded.experimentId],
        maxResults: 5,
        ...(token ? { pageToken: token } : {}),
      });
      seen.push(...p.traces.map((x) => x.info.traceId));
      token = p.nextPageToken;
    } while (token);
    expect(seen).toEqual(seeded.traces.map((x) => x.traceId));
  });

  it("opens a trace: span tree with timeline, conversation, attributes, events and assessments", async () => {
    await page.goto(url(expPath("/traces")));
    await page.locator(`tr[data-trace-id="${t(3).traceId}"]`).click();
    await page.waitForURL(new RegExp(`/traces/${t(3).traceId}$`));
    const tree = page.getByRole("tree", { name: "Span tree" });
    await expect.poll(() => tree.getByRole("treeitem").count()).toBe(3);
    expect(await page.locator(".span-bar").count()).toBe(3);
    // The root's inputs and outputs, pretty-printed.
    await page.locator(".span-detail .json", { hasText: '"issue": "Technical error"' }).waitFor();
    // The LLM span: chat messages as a conversation.
    await tree.getByRole("treeitem", { name: /chat gpt-4o-mini/ }).click();
    await page.locator(".chat .msg.role-system", { hasText: "You are a support agent." }).waitFor();
    await page.locator(".chat .msg.role-assistant", { hasText: "I'll help you with: Technical error" }).waitFor();
    await page.locator(".attrs th", { hasText: "gen_ai.request.model" }).waitFor();
    await tree.getByRole("treeitem", { name: /retrieve_docs/ }).click();
    await page.locator(".events", { hasText: "cache_miss" }).waitFor();
    const judge = page.locator('.assessment-list li[data-source="LLM_JUDGE"]');
    expect(await judge.innerText()).toMatch(/LLM_JUDGE[\s\S]*support_quality[\s\S]*excellent[\s\S]*openai:\/gpt-4o-mini/);
    await tree.getByRole("treeitem", { name: /customerSupportApp/ }).click();
    await shot(page, "trace.png");
  });

  it("adds feedback through the form; the API returns a HUMAN assessment with that value, and it survives a reload", async () => {
    const form = page.getByRole("region", { name: "Add feedback" });
    await expect(form.locator('select[name="name"]').inputValue()).resolves.toBe("support_quality");
    // Categories come from the values the judge gave: buttons, not a text field.
    await expect(form.getByRole("radio").allInnerTexts()).resolves.toEqual([expect.stringMatching(/excellent/), expect.stringMatching(/good/), expect.stringMatching(/poor/)]);
    await form.getByRole("radio", { name: /poor/ }).click();
    await form.locator('textarea[name="rationale"]').fill("Too vague about next steps.");
    await form.locator('input[name="reviewer"]').fill("Dana");
    await form.getByRole("button", { name: "Save feedback" }).click();
    await form.getByText("Saved support_quality = poor as a HUMAN assessment.").waitFor();

    const { assessments } = await api<{ assessments: any[] }>("GET", `/api/v1/traces/${t(3).traceId}/assessments`);
    const human = assessments.filter((a) => a.source.sourceType === "HUMAN");
    expect(human).toHaveLength(1);
    expect(human[0]).toMatchObject({ name: "support_quality", value: "poor", rationale: "Too vague about next steps.", source: { sourceId: "Dana" }, valid: true });

    await page.reload();
    await page.locator('.assessment-list li[data-source="HUMAN"]', { hasText: "poor" }).waitFor();
    await expect(page.locator('.feedback input[name="reviewer"]').inputValue()).resolves.toBe("Dana");
  });

  it("labels a single span, and overrides the judge (struck through)", async () => {
    const tree = page.getByRole("tree", { name: "Span tree" });
    await tree.getByRole("treeitem", { name: /retrieve_docs/ }).click();
    const form = page.getByRole("region", { name: "Add feedback" });
    await form.locator('select[name="target"]').selectOption(t(3).retrieveSpanId);
    await form.locator('select[name="name"]').selectOption({ label: "Other name…" });
    await form.locator('input[name="customName"]').fill("retrieval_relevance");
    await form.locator('input[aria-label="Value"]').fill("relevant");
    await form.getByRole("button", { name: "Save feedback" }).click();
    await form.getByText(/Saved retrieval_relevance = relevant/).waitFor();

    await page.locator('.assessment-list li[data-source="LLM_JUDGE"]').getByRole("button", { name: "Override" }).click();
    const over = page.getByRole("region", { name: "Add feedback" });
    await over.getByRole("heading", { name: "Override the judge" }).waitFor();
    await over.getByRole("radio", { name: /good/ }).click();
    await over.getByRole("button", { name: "Save override" }).click();
    await page.locator(`.assessment-list li.overridden[data-assessment-id="${seeded.judgeIds.get(t(3).traceId)}"]`).waitFor();
    await shot(page, "trace-feedback.png");

    const { assessments } = await api<{ assessments: any[] }>("GET", `/api/v1/traces/${t(3).traceId}/assessments`);
    expect(assessments.find((a) => a.name === "retrieval_relevance")).toMatchObject({ spanId: t(3).retrieveSpanId, value: "relevant", source: { sourceType: "HUMAN", sourceId: "Dana" } });
    const judgeId = seeded.judgeIds.get(t(3).traceId);
    expect(assessments.find((a) => a.assessmentId === judgeId)).toMatchObject({ valid: false, value: "excellent" });
    expect(assessments.find((a) => a.overrides === judgeId)).toMatchObject({ valid: true, value: "good", source: { sourceType: "HUMAN", sourceId: "Dana" } });
  });

  it("moves to the next and previous trace with the keyboard, and labels with l, a digit and Ctrl+Enter", async () => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("j");
    await page.waitForURL(new RegExp(`/traces/${t(4).traceId}$`));
    await page.keyboard.press("k");
    await page.waitForURL(new RegExp(`/traces/${t(3).traceId}$`));
    await page.keyboard.press("j");
    await page.waitForURL(new RegExp(`/traces/${t(4).traceId}$`));
    await page.locator(".assessment-list li").first().waitFor();
    await page.keyboard.press("l");
    await page.keyboard.press("1"); // excellent
    await page.keyboard.press("Control+Enter");
    await page.getByText("Saved support_quality = excellent as a HUMAN assessment.").waitFor();
    const { assessments } = await api<{ assessments: any[] }>("GET", `/api/v1/traces/${t(4).traceId}/assessments`);
    expect(assessments.filter((a) => a.source.sourceType === "HUMAN" && a.source.sourceId === "Dana").map((a) => a.value)).toEqual(["excellent"]);
  });

  it("orders the review queue by the documented rule, with keyset pages", async () => {
    const q = await api<any>("GET", `/api/v1/experiments/${seeded.experimentId}/review-queue`);
    expect(q.minLabels).toBe(10);
    expect(q.items.slice(0, 3).map((i: any) => [i.traceId, i.reason])).toEqual([
      [t(0).traceId, "JUDGE_ERROR"],
      [t(2).traceId, "LOW_CONFIDENCE"],
      [t(1).traceId, "TRACE_ERROR"],
    ]);
    // t3 and t4 now have human labels (through the UI), t5 from the seed: out of the queue.
    const ids = q.items.map((i: any) => i.traceId);
    for (const i of [3, 4, 5]) expect(ids).not.toContain(t(i).traceId);
    expect(ids).toHaveLength(seeded.traces.length - 3);
    expect(q.judges).toEqual([expect.objectContaining({ name: "support_quality", judged: seeded.traces.length, labeled: 3, needed: 7 })]);
    const paged: string[] = [];
    let token: string | undefined;
    do {
      const p = await api<any>("GET", `/api/v1/experiments/${seeded.experimentId}/review-queue?limit=3${token ? `&pageToken=${token}` : ""}`);
      paged.push(...p.items.map((i: any) => i.traceId));
      token = p.nextPageToken;
    } while (token);
    expect(paged).toEqual(ids);
    const filtered = await api<any>("GET", `/api/v1/experiments/${seeded.experimentId}/review-queue?filter=${encodeURIComponent("trace.status = 'ERROR'")}`);
    expect(filtered.items.map((i: any) => i.traceId)).toEqual([t(1).traceId]);
  });

  it("works the review queue with the keyboard", async () => {
    await page.goto(url(expPath("/review")));
    await page.getByTestId("needed").getByText(/Alignment needs 7 more labels \(SIMBA: 10\)/).waitFor();
    const active = page.locator(".queue-list li.active");
    await expect(active.getAttribute("data-trace-id")).resolves.toBe(t(0).traceId);
    await page.locator(".queue-item .reason", { hasText: "The judge failed or gave no value." }).waitFor();
    await page.locator(".rule summary").click();
    await shot(page, "review.png");
    await page.locator(".rule summary").click();

    await page.keyboard.press("2"); // good
    await expect.poll(() => page.locator(".queue-item button.chosen").innerText()).toMatch(/good/);
    await page.keyboard.press("Enter");
    await expect.poll(() => active.getAttribute("data-trace-id")).toBe(t(2).traceId);
    await page.getByTestId("needed").getByText(/needs 6 more labels/).waitFor();
    await page.keyboard.press("s");
    await expect.poll(() => active.getAttribute("data-trace-id")).toBe(t(1).traceId);
    await page.keyboard.press("k");
    await expect.poll(() => active.getAttribute("data-trace-id")).toBe(t(2).traceId);
    await page.keyboard.press("3"); // poor
    await page.keyboard.press("Enter");
    await expect.poll(() => active.getAttribute("data-trace-id")).toBe(t(1).traceId);

    const humanOf = async (i: number) =>
      (await api<{ assessments: any[] }>("GET", `/api/v1/traces/${t(i).traceId}/assessments`)).assessments.filter((a) => a.source.sourceType === "HUMAN");
    expect(await humanOf(0)).toEqual([expect.objectContaining({ name: "support_quality", value: "good", source: { sourceType: "HUMAN", sourceId: "Dana" } })]);
    expect(await humanOf(2)).toEqual([expect.objectContaining({ value: "poor" })]);
    expect(await humanOf(1)).toEqual([]);
  });

  it("runs SQL: an example, then a typed query, with a table and a chart", async () => {
    await page.goto(url("/sql"));
    await page.getByRole("button", { name: "Slowest traces" }).click();
    await expect.poll(() => page.locator(".sql-table tbody tr").count()).toBe(seeded.traces.length);
    await page.locator(".chart svg rect.bar").first().waitFor();
    expect(await page.locator(".chart figcaption").innerText()).toMatch(/duration_ms by Name/);
    await shot(page, "sql.png");
    for (const ex of ["Assessments over time", "Judge–human agreement per day"]) {
      await page.getByRole("button", { name: ex }).click();
      await expect.poll(() => page.locator(".sql-table tbody tr").count()).toBeGreaterThan(0);
      expect(await page.locator(".error").count()).toBe(0);
    }
    await page.fill('textarea[aria-label="SQL query"]', "SELECT count() AS n FROM gavel_traces WHERE ExperimentId = '" + seeded.experimentId + "'");
    await page.keyboard.press("Control+Enter");
    await expect.poll(() => page.locator(".sql-table tbody td").first().innerText()).toBe(String(seeded.traces.length));
    await page.fill('textarea[aria-label="SQL query"]', "DROP TABLE gavel_traces");
    await page.keyboard.press("Control+Enter");
    await page.locator(".error", { hasText: /SQL_/ }).waitFor();
  });

  it("renders trace content as text: a <script> or <img onerror> in a span does nothing", async () => {
    const x = t(seeded.traces.length - 1);
    await page.goto(url(expPath("/traces")));
    await page.locator(`tr[data-trace-id="${x.traceId}"]`).getByText(XSS.name).waitFor();
    await page.goto(url(expPath(`/traces/${x.traceId}`)));
    await page.locator(".trace-title h2", { hasText: XSS.name }).waitFor();
    await page.getByText(XSS.input, { exact: false }).first().waitFor();
    await page.locator(".attr-val", { hasText: XSS.attr }).waitFor();
    await page.locator(".a-rationale", { hasText: XSS.rationale }).waitFor();
    await page.getByRole("treeitem", { name: /bold/ }).click();
    await page.locator(".span-detail h3", { hasText: XSS.span }).waitFor();
    await page.getByRole("treeitem", { name: /chat gpt-4o-mini/ }).click();
    await page.locator(".msg-text", { hasText: XSS.output }).waitFor();
    await page.getByRole("treeitem", { name: /chat gpt-4o-mini/ }).hover();
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.locator('img, iframe, svg[onload], b[onmouseover], script:not([type="module"])').count()).toBe(0);
    await shot(page, "xss-inert.png");
  });

  it("shows the Judges and Evaluations pages with honest empty states", async () => {
    await page.goto(url(expPath("/judges")));
    await page.getByText("No registered judges yet").waitFor();
    await shot(page, "judges.png");
    await page.goto(url(expPath("/evaluations")));
    await page.getByText("No evaluation runs yet").waitFor();
    await shot(page, "evaluations.png");
  });

  it("explains what to do in an experiment without traces", async () => {
    const { experimentId } = await api<{ experimentId: string }>("POST", "/api/v1/experiments", { name: "empty-experiment" });
    await page.goto(url(`/experiments/${experimentId}/traces`));
    await page.getByText("No traces in this experiment yet").waitFor();
    expect(await page.locator(".empty pre").innerText()).toContain(`setExperiment({ experimentId: "${experimentId}" })`);
    await shot(page, "traces-empty.png");
  });

  it("works on a narrow screen", async () => {
    // The same tab: the API key lives in this tab's session storage.
    const narrow = page;
    await narrow.setViewportSize({ width: 390, height: 844 });
    for (const [path, name] of [
      [expPath("/traces"), "traces-narrow.png"],
      [expPath(`/traces/${t(2).traceId}`), "trace-narrow.png"],
      [expPath("/review"), "review-narrow.png"],
    ] as const) {
      await narrow.goto(url(path));
      await narrow.locator("tr[data-trace-id], .span-row, .queue-list li").first().waitFor();
      const overflow = await narrow.evaluate(() => {
        const wide = [...document.querySelectorAll("body *")]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".table-wrap, .tabs, .waterfall, .code"))
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
        return { px: document.documentElement.scrollWidth - window.innerWidth, wide: wide.slice(0, 5) };
      });
      expect(overflow.px, `${path} scrolls sideways: ${overflow.wide.join(", ")}`).toBeLessThanOrEqual(1);
      await shot(narrow, name);
    }
    await narrow.setViewportSize({ width: 1280, height: 800 });
  });

  it("with a read-only key, shows what it may do and does not offer to save", async () => {
    const ro = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await ro.newPage();
    watch(p);
    await p.goto(url(expPath(`/traces/${t(6).traceId}`)));
    await p.getByRole("dialog").locator('input[name="apiKey"]').fill(READER);
    await p.getByRole("dialog").getByRole("button", { name: "Use key" }).click();
    await p.getByRole("dialog").getByText("Without the write role").waitFor();
    await p.getByRole("dialog").getByRole("button", { name: "Done" }).click();
    await p.getByRole("button", { name: "Save feedback" }).waitFor();
    expect(await p.getByRole("button", { name: "Save feedback" }).isDisabled()).toBe(true);
    await ro.close();
    // A fresh context (a new tab session) has no key: the key was never persisted.
    const fresh = await browser.newContext();
    const f = await fresh.newPage();
    await f.goto(url("/"));
    await f.getByRole("dialog").waitFor();
    await fresh.close();
  });

  it("shows a registered judge: versions with the instructions diff, model, and sampling start/stop (admin key)", async () => {
    const judge = (instructions: string) => ({
      judge: { type: "gavel.judge", name: "support_quality", instructions, model: "openai:/gpt-4o-mini", feedbackValueType: ["excellent", "good", "needs_improvement", "poor"] },
    });
    await api("POST", `/api/v1/experiments/${seeded.experimentId}/scorers`, judge("Rate {{ outputs }} for {{ inputs }}.\nBe strict."));
    await api("POST", `/api/v1/experiments/${seeded.experimentId}/scorers`, judge("Rate {{ outputs }} for {{ inputs }}.\nPenalise vague next steps."));
    await page.evaluate((k) => sessionStorage.setItem("gavel.apiKey", k), ADMIN);
    await page.goto(url(expPath("/judges")));
    const card = page.locator('.judge-card[data-judge="support_quality"]');
    await card.getByText("v2").first().waitFor();
    await card.getByText("model openai:/gpt-4o-mini").waitFor();
    await card.locator(".diff .del", { hasText: "Be strict." }).waitFor();
    await card.locator(".diff .add", { hasText: "Penalise vague next steps." }).waitFor();
    await card.getByLabel("Sample rate").fill("0.25");
    await card.getByRole("button", { name: "Start" }).click();
    await card.getByText("sampling 25%").waitFor();
    const listed = await api<{ scorers: any[] }>("GET", `/api/v1/experiments/${seeded.experimentId}/scorers`);
    expect(listed.scorers[0]).toMatchObject({ name: "support_quality", version: 2, sampling: { sampleRate: 0.25 } });
    await shot(page, "judges-registered.png");
    await card.getByRole("button", { name: "Stop" }).click();
    await card.getByText("stopped").waitFor();
    expect((await api<{ scorers: any[] }>("GET", `/api/v1/experiments/${seeded.experimentId}/scorers`)).scorers[0].sampling.sampleRate).toBe(0);
    // The registered value type now drives Add feedback: all four categories, none guessed.
    await page.goto(url(expPath(`/traces/${t(7).traceId}`)));
    await expect
      .poll(() => page.getByRole("region", { name: "Add feedback" }).getByRole("radio").allInnerTexts())
      .toEqual([expect.stringMatching(/excellent/), expect.stringMatching(/good/), expect.stringMatching(/needs_improvement/), expect.stringMatching(/poor/)]);
  });

  it("shows an evaluation run: its results table and a score distribution per judge", async () => {
    const { runId } = await api<{ runId: string }>("POST", "/api/v1/runs", { experimentId: seeded.experimentId, name: "eval-1", kind: "evaluation" });
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer("ui-eval");
    const cases = ["Can't access my account", "Slow website performance", "Refund not received"];
    for (const issue of cases) {
      tracer
        .startSpan("evaluate.predict", {
          attributes: { "gavel.experiment_id": seeded.experimentId, "gavel.run_id": runId, "gavel.evaluation": "true", "gavel.inputs": JSON.stringify({ issue }), "gavel.outputs": JSON.stringify({ response: `Looking into: ${issue}` }) },
        })
        .end();
    }
    const spans = exporter.getFinishedSpans();
    const res = await fetch(url("/v1/traces"), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` },
      body: Buffer.from(JsonTraceSerializer.serializeRequest(spans)!),
    });
    expect(res.status).toBe(200);
    for (const [i, sp] of spans.entries()) {
      await api("POST", `/api/v1/traces/${sp.spanContext().traceId}/assessments`, {
        name: "support_quality",
        value: i === 2 ? "poor" : "good",
        source: { sourceType: "LLM_JUDGE", sourceId: "openai:/gpt-4o-mini" },
        runId,
      });
    }
    await api("POST", `/api/v1/runs/${runId}/end`, { status: "FINISHED" });
    await page.goto(url(expPath("/evaluations")));
    await page.locator("tr", { hasText: "eval-1" }).getByText("FINISHED").waitFor();
    await expect.poll(() => page.locator(".evaluations .panel tbody tr").count()).toBe(cases.length);
    expect(await page.locator(".chart figcaption").innerText()).toBe("support_quality: score distribution");
    expect(await page.locator(".chart rect.bar").count()).toBe(2);
    await shot(page, "evaluations-run.png");
  });

  it("lists the traces linked to an evaluation run in its results (linkTracesToRun)", async () => {
    const { runId } = await api<{ runId: string }>("POST", "/api/v1/runs", { experimentId: seeded.experimentId, name: "eval-linked", kind: "evaluation" });
    const linked = await api<{ traceIds: string[] }>("POST", `/api/v1/runs/${runId}/traces`, { traceIds: [t(3).traceId, t(6).traceId] }, REVIEWER);
    expect(linked.traceIds).toEqual([t(3).traceId, t(6).traceId]);
    await page.goto(url(expPath("/evaluations")));
    await page.locator("tr", { hasText: "eval-linked" }).getByRole("button", { name: "eval-linked" }).click();
    const results = page.locator(".evaluations .panel", { hasText: "Results of eval-linked" });
    await expect.poll(() => results.locator("tbody tr").count()).toBe(2);
    const hrefs = await results.locator("tbody tr a").evaluateAll((els) => els.map((e) => e.getAttribute("href")));
    expect(new Set(hrefs)).toEqual(new Set([expPath(`/traces/${t(3).traceId}`), expPath(`/traces/${t(6).traceId}`)]));
  });

  it("shows sessions: the list, a session's turns oldest first with its session-level assessment, all as text", async () => {
    // An experiment of its own, so the other tests' trace counts stay as they are.
    const { experimentId } = await api<{ experimentId: string }>("POST", "/api/v1/experiments", { name: "support-sessions" });
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer("ui-sessions");
    const now = Date.now();
    // s-billing: three turns, sent newest first; s-xss: one later turn whose content is markup; one trace of no session.
    const turns = [
      { session: "s-billing", at: now - 60_000, question: "Why was I charged again?", answer: "Checking your invoices now." },
      { session: "s-billing", at: now - 300_000, question: "I was charged twice this month", answer: "Sorry about that, let me look." },
      { session: "s-billing", at: now - 180_000, question: "Invoice 42 and invoice 43", answer: "Invoice 43 is a duplicate; refund issued." },
      { session: "s-xss", at: now - 10_000, question: XSS.input, answer: XSS.output },
      { session: undefined, at: now - 5_000, question: "No session here", answer: "ok" },
    ];
    const ids = turns.map((x) => {
      const span = tracer.startSpan("chat_turn", {
        startTime: x.at,
        attributes: {
          "gavel.experiment_id": experimentId,
          "gavel.inputs": JSON.stringify({ question: x.question }),
          "gavel.outputs": JSON.stringify({ answer: x.answer }),
          ...(x.session ? { "gavel.metadata.mlflow.trace.session": x.session } : {}),
        },
      });
      span.end(x.at + 200);
      return span.spanContext().traceId;
    });
    const res = await fetch(url("/v1/traces"), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` },
      body: Buffer.from(JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans())!),
    });
    expect(res.status).toBe(200);
    // A session-level judge's verdict, stored as MLflow stores it: on the first turn (ids[1]),
    // naming the session; and a turn-level assessment, which is not the session's.
    const judge = { sourceType: "LLM_JUDGE", sourceId: "openai:/gpt-4o-mini" };
    await api("POST", `/api/v1/traces/${ids[1]}/assessments`, {
      name: "resolved",
      value: true,
      rationale: `Refund issued. ${XSS.rationale}`,
      source: judge,
      metadata: { "mlflow.trace.session": "s-billing" },
    });
    await api("POST", `/api/v1/traces/${ids[2]}/assessments`, { name: "tone", value: "polite", source: judge });

    await page.goto(url(`/experiments/${encodeURIComponent(experimentId)}/sessions`));
    const rows = page.locator(".sessions table.grid tbody tr");
    await expect.poll(() => rows.count()).toBe(2);
    // Most recently active first, with the number of turns.
    expect((await rows.allInnerTexts()).map((r) => r.split(/\s+/).slice(0, 2))).toEqual([
      ["s-xss", "1"],
      ["s-billing", "3"],
    ]);
    // The newest session is open first: its markup is shown as text, never run.
    const xss = page.getByRole("region", { name: "Session s-xss" });
    await xss.locator("pre.text", { hasText: XSS.input }).waitFor();
    expect((await xss.locator("pre.text").allInnerTexts()).map((x) => JSON.parse(x))).toEqual([{ question: XSS.input }, { answer: XSS.output }]);
    expect(await xss.locator("script, img, svg, iframe").count()).toBe(0);
    await xss.getByText("None yet.").waitFor();

    // Open s-billing: its turns oldest first, and the session-level assessment above them.
    await rows.filter({ hasText: "s-billing" }).getByRole("button", { name: "s-billing" }).click();
    const billing = page.getByRole("region", { name: "Session s-billing" });
    await expect.poll(() => billing.locator("li.turn").count()).toBe(3);
    const users = await billing.locator(".msg.user pre.text").allInnerTexts();
    expect(users.map((u) => JSON.parse(u).question)).toEqual(["I was charged twice this month", "Invoice 42 and invoice 43", "Why was I charged again?"]);
    expect(JSON.parse(await billing.locator(".msg.assistant pre.text").nth(1).innerText()).answer).toBe("Invoice 43 is a duplicate; refund issued.");
    const verdicts = billing.getByRole("region", { name: "Session assessments" }).locator(".assessment-list li");
    await expect.poll(() => verdicts.count()).toBe(1);
    const verdict = await verdicts.innerText();
    expect(verdict).toMatch(/LLM_JUDGE[\s\S]*resolved[\s\S]*yes/);
    expect(verdict).toContain(XSS.rationale);
    expect(verdict).not.toContain("tone");
    expect(await billing.locator("iframe").count()).toBe(0);
    // Each turn links to its trace.
    expect(await billing.locator("li.turn a", { hasText: "open trace" }).first().getAttribute("href")).toBe(`/experiments/${experimentId}/traces/${ids[1]}`);
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    await shot(page, "sessions.png");
  });

  it("logged no page errors, CSP violations or dialogs", () => {
    expect(pageErrors).toEqual([]);
  });
});
