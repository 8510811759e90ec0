import type { ClickHouseClient } from "@clickhouse/client";

/**
 * The client, passing every query through, and the SQL of those that `matches` picked: how a test
 * proves which reads a code path ran (a span scan per time window, no read of the trace list).
 */
export function recordQueries(client: ClickHouseClient, matches: (sql: string) => boolean): { client: ClickHouseClient; seen: string[] } {
  const seen: string[] = [];
  const recording = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== "query") return Reflect.get(target, prop, receiver);
      return (arg: { query: string }) => {
        if (matches(arg.query)) seen.push(arg.query);
        return target.query(arg as never);
      };
    },
  });
  return { client: recording, seen };
}
