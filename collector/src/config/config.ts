import { availableParallelism } from "node:os";
import { z } from "zod";
import { ApiKeyConfigError, parseApiKeys, type ApiKey } from "../auth/api-keys.js";

/**
 * Server configuration from environment variables and CLI flags (flags win).
 * Every invalid value is reported with the variable's name and what to set.
 */
export interface GavelConfig {
  port: number;
  /** OTLP/gRPC port (GAVEL_GRPC_PORT, default 4317); 0 turns the gRPC receiver off. Same host as HTTP. */
  grpcPort: number;
  host: string;
  dataDir: string;
  clickhouse?: { url: string; user: string; password: string; database: string; cluster?: string };
  /** Largest OTLP request body accepted, after decompression. */
  maxBodyBytes: number;
  /** Rows waiting for ClickHouse above which OTLP requests get 429/503. */
  maxQueuedRows: number;
  /** Rows per insert the writer aims for. */
  batchRows: number;
  /** How long the writer waits to fill a batch while an insert is already running. */
  batchWaitMs: number;
  /**
   * Rows waiting behind the insert in progress from which OTLP requests are acknowledged once
   * they are in the ingest log instead of once stored (GAVEL_ACK_LOGGED_ROWS; 0 = never).
   */
  ackLoggedRows: number;
  /** The ingest log's directory (GAVEL_INGEST_LOG_DIR; embedded store: `<data dir>/ingest-log`; none = no log). */
  ingestLogDir?: string;
  /** Resends of an acknowledged OTLP request are answered without storing them again (store/request-dedup.ts). */
  dedup: { windowSeconds: number; maxRequests: number };
  sql: {
    maxExecutionSeconds: number;
    maxResultRows: number;
    /** Answers are cut at this many bytes of row data (`truncated: true`). */
    maxResultBytes: number;
    maxMemoryBytes: number;
    /** Threads one user query may use, so ingest keeps the other cores. */
    maxThreads: number;
    /** Engine sessions for user SQL: queries beyond this wait for a free one. */
    sessions: number;
  };
  insecureListen: boolean;
  /**
   * GAVEL_ALLOWED_HOSTS: host names served without API keys besides loopback ones (for a proxy
   * that authenticates and forwards its own Host). Ignored when API keys are configured.
   */
  allowedHosts: string[];
  /** From GAVEL_API_KEYS; empty means no access control (and loopback only). */
  apiKeys: ApiKey[];
}

const intFrom = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

const envSchema = z.object({
  GAVEL_PORT: intFrom("GAVEL_PORT", 0, 65535).optional(),
  GAVEL_GRPC_PORT: intFrom("GAVEL_GRPC_PORT", 0, 65535).optional(),
  GAVEL_HOST: z.string().min(1).optional(),
  GAVEL_DATA_DIR: z.string().min(1).optional(),
  GAVEL_CLICKHOUSE_URL: z.string().url("GAVEL_CLICKHOUSE_URL must be a URL such as http://localhost:8123").optional(),
  GAVEL_CLICKHOUSE_USER: z.string().optional(),
  GAVEL_CLICKHOUSE_PASSWORD: z.string().optional(),
  GAVEL_CLICKHOUSE_CLUSTER: z.string().regex(/^[A-Za-z_][\w-]*$/, "GAVEL_CLICKHOUSE_CLUSTER must be a cluster name (letters, digits, _ and -)").optional(),
  GAVEL_CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "GAVEL_CLICKHOUSE_DATABASE must be a plain identifier").optional(),
  GAVEL_MAX_BODY_BYTES: intFrom("GAVEL_MAX_BODY_BYTES", 1024, 1 << 30).optional(),
  GAVEL_MAX_QUEUED_ROWS: intFrom("GAVEL_MAX_QUEUED_ROWS", 1, 10_000_000).optional(),
  GAVEL_BATCH_ROWS: intFrom("GAVEL_BATCH_ROWS", 1, 1_000_000).optional(),
  GAVEL_BATCH_WAIT_MS: intFrom("GAVEL_BATCH_WAIT_MS", 0, 60_000).optional(),
  GAVEL_ACK_LOGGED_ROWS: intFrom("GAVEL_ACK_LOGGED_ROWS", 0, 1_000_000).optional(),
  GAVEL_INGEST_LOG_DIR: z.string().min(1).optional(),
  GAVEL_DEDUP_WINDOW_SECONDS: intFrom("GAVEL_DEDUP_WINDOW_SECONDS", 0, 86_400).optional(),
  GAVEL_DEDUP_MAX_REQUESTS: intFrom("GAVEL_DEDUP_MAX_REQUESTS", 0, 10_000_000).optional(),
  GAVEL_SQL_MAX_EXECUTION_SECONDS: intFrom("GAVEL_SQL_MAX_EXECUTION_SECONDS", 1, 3600).optional(),
  GAVEL_SQL_MAX_RESULT_ROWS: intFrom("GAVEL_SQL_MAX_RESULT_ROWS", 1, 10_000_000).optional(),
  GAVEL_SQL_MAX_MEMORY_BYTES: intFrom("GAVEL_SQL_MAX_MEMORY_BYTES", 1 << 20, Number.MAX_SAFE_INTEGER).optional(),
  GAVEL_ALLOWED_HOSTS: z
    .string()
    .regex(/^\s*[A-Za-z0-9.-]+\s*(,\s*[A-Za-z0-9.-]+\s*)*$/, "GAVEL_ALLOWED_HOSTS must be comma-separated host names, without ports (gavel.internal,10.0.0.5)")
    .optional(),
  GAVEL_SQL_MAX_RESULT_BYTES: intFrom("GAVEL_SQL_MAX_RESULT_BYTES", 1024, 1 << 30).optional(),
  GAVEL_SQL_MAX_THREADS: intFrom("GAVEL_SQL_MAX_THREADS", 1, 256).optional(),
  GAVEL_SQL_SESSIONS: intFrom("GAVEL_SQL_SESSIONS", 1, 64).optional(),
});

export class ConfigError extends Error {
  override name = "ConfigError";
}

export type ConfigOverrides = Partial<Pick<GavelConfig, "port" | "grpcPort" | "host" | "dataDir" | "insecureListen">>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): GavelConfig {
  const picked = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith("GAVEL_") && k in envSchema.shape && v !== ""),
  );
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`Invalid configuration: ${msg}. Fix or unset the variable and start again.`);
  }
  const e = parsed.data;
  let apiKeys: ApiKey[];
  try {
    apiKeys = parseApiKeys(env.GAVEL_API_KEYS);
  } catch (err) {
    if (err instanceof ApiKeyConfigError) throw new ConfigError(`Invalid configuration: ${err.message}`);
    throw err;
  }
  const url = e.GAVEL_CLICKHOUSE_URL;
  return {
    port: overrides.port ?? e.GAVEL_PORT ?? 4318,
    grpcPort: overrides.grpcPort ?? e.GAVEL_GRPC_PORT ?? 4317,
    host: overrides.host ?? e.GAVEL_HOST ?? "127.0.0.1",
    dataDir: overrides.dataDir ?? e.GAVEL_DATA_DIR ?? "./.gavel/data",
    clickhouse: url
      ? {
          url,
          user: e.GAVEL_CLICKHOUSE_USER ?? "default",
          password: e.GAVEL_CLICKHOUSE_PASSWORD ?? "",
          database: e.GAVEL_CLICKHOUSE_DATABASE ?? "default",
          ...(e.GAVEL_CLICKHOUSE_CLUSTER ? { cluster: e.GAVEL_CLICKHOUSE_CLUSTER } : {}),
        }
      : undefined,
    maxBodyBytes: e.GAVEL_MAX_BODY_BYTES ?? 64 * 1024 * 1024,
    maxQueuedRows: e.GAVEL_MAX_QUEUED_ROWS ?? 200_000,
    batchRows: e.GAVEL_BATCH_ROWS ?? 20_000,
    batchWaitMs: e.GAVEL_BATCH_WAIT_MS ?? 5,
    ackLoggedRows: e.GAVEL_ACK_LOGGED_ROWS ?? 1024,
    ...(e.GAVEL_INGEST_LOG_DIR ? { ingestLogDir: e.GAVEL_INGEST_LOG_DIR } : {}),
    dedup: { windowSeconds: e.GAVEL_DEDUP_WINDOW_SECONDS ?? 600, maxRequests: e.GAVEL_DEDUP_MAX_REQUESTS ?? 200_000 },
    sql: {
      maxExecutionSeconds: e.GAVEL_SQL_MAX_EXECUTION_SECONDS ?? 30,
      maxResultRows: e.GAVEL_SQL_MAX_RESULT_ROWS ?? 100_000,
      maxResultBytes: e.GAVEL_SQL_MAX_RESULT_BYTES ?? 16 * 1024 * 1024,
      maxMemoryBytes: e.GAVEL_SQL_MAX_MEMORY_BYTES ?? 2 * 1024 * 1024 * 1024,
      maxThreads: e.GAVEL_SQL_MAX_THREADS ?? 1,
      // Half the cores: with one thread per query, user SQL leaves the other half to ingest.
      sessions: e.GAVEL_SQL_SESSIONS ?? Math.max(1, Math.floor(availableParallelism() / 2)),
    },
    insecureListen: overrides.insecureListen ?? false,
    allowedHosts: (e.GAVEL_ALLOWED_HOSTS ?? "").split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== ""),
    apiKeys,
  };
}
