import type { ClickHouseClient } from "@clickhouse/client";

/** No session became free in time: the store is busy with other queries. */
export class StoreBusyError extends Error {
  override name = "StoreBusyError";
}

/**
 * A fixed set of clients used one query at a time each: whoever holds a client is its only user
 * until it gives it back. On chDB each client is its own engine session, and a query that fails
 * after it started writing output leaves that output in front of the session's next result
 * (NOTES.md). So a client whose query failed is drained — and checked — before anyone else
 * gets it, and replaced by a fresh session when it stays dirty.
 */
export class SessionPool {
  private readonly free: ClickHouseClient[];
  private readonly waiting: ((c: ClickHouseClient) => void)[] = [];
  private closed = false;

  constructor(
    clients: ClickHouseClient[],
    private readonly reopen: (broken: ClickHouseClient) => Promise<ClickHouseClient>,
  ) {
    this.free = [...clients];
    this.size = clients.length;
  }

  readonly size: number;

  /** Runs `fn` with a client nobody else uses meanwhile; waits at most `waitMs` for one. */
  async use<T>(waitMs: number, fn: (client: ClickHouseClient) => Promise<T>): Promise<T> {
    const client = await this.acquire(waitMs);
    let failed = false;
    try {
      return await fn(client);
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      if (failed) void this.cleanThenRelease(client);
      else this.release(client);
    }
  }

  private acquire(waitMs: number): Promise<ClickHouseClient> {
    if (this.closed) return Promise.reject(new StoreBusyError("The store is closing."));
    const c = this.free.pop();
    if (c) return Promise.resolve(c);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new StoreBusyError(`All ${this.size} SQL sessions stayed busy for ${Math.round(waitMs / 1000)} s.`));
      }, waitMs);
      const grant = (client: ClickHouseClient) => {
        clearTimeout(timer);
        resolve(client);
      };
      this.waiting.push(grant);
    });
  }

  private release(client: ClickHouseClient): void {
    const next = this.waiting.shift();
    if (next) next(client);
    else this.free.push(client);
  }

  /** Absorbs leaked output; a session that still answers wrongly is replaced. */
  private async cleanThenRelease(client: ClickHouseClient): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await (await client.query({ query: "SELECT 1", format: "TabSeparated" })).text();
        const probe = await (await client.query({ query: "SELECT 'gavel-clean'", format: "TabSeparatedRaw" })).text();
        if (probe === "gavel-clean\n") {
          this.release(client);
          return;
        }
      } catch {
        // try again, then replace
      }
    }
    try {
      const fresh = await this.reopen(client);
      this.release(fresh);
    } catch (err) {
      console.error("[gavel] could not replace a broken SQL session:", err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
