import type { Store } from "../store/store.js";
import { MetricsRegistry, type Counter, type Gauge, type Histogram } from "./metrics.js";

const LAG_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const LLM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
const POLL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The series GET /metrics shows: the online worker's, the LLM calls', and ingest's. */
export interface WorkerMetrics {
  registry: MetricsRegistry;
  seen: Counter;
  sampled: Counter;
  sessionsSeen: Counter;
  sessionsSampled: Counter;
  scored: Counter;
  failed: Counter;
  lag: Histogram;
  llmLatency: Histogram;
  tokens: Counter;
  retries: Counter;
  polls: Counter;
  candidateQueries: Counter;
  skipped: Counter;
  pollErrors: Counter;
  pollSeconds: Histogram;
  inFlight: Gauge;
  queued: Gauge;
  activeJudges: Gauge;
}

export function createWorkerMetrics(store?: Store): WorkerMetrics {
  const r = new MetricsRegistry();
  const m: WorkerMetrics = {
    registry: r,
    seen: r.counter("gavel_worker_traces_seen_total", "Complete traces of a judge's experiment (and this worker's shard) that the worker saw while running", ["judge"]),
    sampled: r.counter("gavel_worker_traces_sampled_total", "Seen traces the judge's sampler and filter selected", ["judge"]),
    sessionsSeen: r.counter("gavel_worker_sessions_seen_total", "Complete sessions (no span for GAVEL_SESSION_SETTLE_MS) of a {{ conversation }} judge's experiment that the worker saw while running", ["judge"]),
    sessionsSampled: r.counter("gavel_worker_sessions_sampled_total", "Seen sessions the judge's sampler selected (by session id)", ["judge"]),
    scored: r.counter("gavel_worker_traces_scored_total", "Judgements stored with a value (online and backfill; a session-level judge counts one per session)", ["judge", "model", "mode"]),
    failed: r.counter(
      "gavel_worker_traces_failed_total",
      "Judgements that failed: stored as a Feedback with error (code = the LLM error), or not stored (CONFIG, STORE)",
      ["judge", "model", "code", "mode"],
    ),
    skipped: r.counter(
      "gavel_worker_traces_skipped_total",
      "Traces not judged because the content the judge's template uses is empty (reason MISSING_CONTENT) or there are no expectations (MISSING_INPUT); stored as a Feedback whose error says why, and the model is not called",
      ["judge", "reason", "mode"],
    ),
    lag: r.histogram("gavel_worker_lag_seconds", "From a trace becoming complete (last span arrival + GAVEL_SETTLE_MS) to its assessment being stored, online only", ["judge"], LAG_BUCKETS),
    llmLatency: r.histogram("gavel_llm_latency_seconds", "Duration of a judge's LLM work for one trace, retries and re-asks included", ["model"], LLM_BUCKETS),
    tokens: r.counter("gavel_llm_tokens_total", "LLM tokens used by judges", ["judge", "model", "direction"]),
    retries: r.counter("gavel_llm_retries_total", "LLM requests retried (429, 5xx, timeouts)", ["model", "code"]),
    polls: r.counter("gavel_worker_polls_total", "Polls for complete traces"),
    candidateQueries: r.counter("gavel_worker_candidate_queries_total", "Candidate queries run (a poll skips a judge's query when no span can have completed a trace since)", ["judge"]),
    pollErrors: r.counter("gavel_worker_poll_errors_total", "Polls that failed (ClickHouse unavailable, ...); the worker backs off and retries"),
    pollSeconds: r.histogram("gavel_worker_poll_seconds", "Duration of one poll (every active judge's candidate query)", [], POLL_BUCKETS),
    inFlight: r.gauge("gavel_worker_llm_in_flight", "Judge calls running now", ["model"]),
    queued: r.gauge("gavel_worker_queued", "Traces picked and waiting for a judge-call slot", ["model"]),
    activeJudges: r.gauge("gavel_worker_active_judges", "Judge versions with sampleRate > 0 the worker runs"),
  };
  if (store) {
    const s = () => store.batcher.stats;
    r.collectedCounter("gavel_ingest_rows_inserted_total", "Rows inserted into otel_traces (spans, assessment spans included)", [], () => [[{}, s().insertedRows]]);
    r.collectedCounter("gavel_ingest_inserts_total", "Inserts into otel_traces", [], () => [[{}, s().inserts]]);
    r.collectedCounter("gavel_ingest_failed_inserts_total", "Inserts ClickHouse refused or failed", [], () => [[{}, s().failedInserts]]);
    r.collectedCounter("gavel_ingest_logged_acks_total", "OTLP requests acknowledged once in the ingest log, before their insert (inserts were behind)", [], () => [[{}, s().loggedAcks]]);
    r.collectedCounter("gavel_ingest_refused_requests_total", "OTLP requests answered 429/503 because too many rows were waiting", [], () => [[{}, s().refusedRequests]]);
    const d = () => store.acknowledged.stats;
    r.collectedCounter("gavel_ingest_resent_requests_total", "OTLP requests answered without storing them again: a copy of a request acknowledged within GAVEL_DEDUP_WINDOW_SECONDS (repeated) or being stored (joined)", ["kind"], () => [[{ kind: "repeated" }, d().repeated], [{ kind: "joined" }, d().joined]]);
    r.gauge("gavel_ingest_remembered_requests", "Acknowledged OTLP requests remembered to recognise resends", [], () => [[{}, d().remembered]]);
    r.gauge("gavel_ingest_queued_rows", "Rows accepted and waiting to be inserted", [], () => [[{}, s().queuedRows]]);
  }
  r.collectedCounter("process_cpu_seconds_total", "User and system CPU time of this process", [], () => {
    const u = process.cpuUsage();
    return [[{}, (u.user + u.system) / 1e6]];
  });
  r.gauge("process_resident_memory_bytes", "Resident memory of this process", [], () => [[{}, process.memoryUsage.rss()]]);
  return m;
}
