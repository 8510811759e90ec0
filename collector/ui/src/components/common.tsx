import type { ReactNode } from "react";
import type { SourceType, TraceStatus } from "../api";
import { ApiError } from "../api";

export function SourceBadge({ type }: { type: SourceType }) {
  return <span className={`badge src-${type.toLowerCase()}`}>{type}</span>;
}

export function StatusBadge({ status }: { status: TraceStatus }) {
  return <span className={`badge st-${status.toLowerCase()}`}>{status}</span>;
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty" role="status">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function ErrorBox({ error, retry }: { error: Error | undefined; retry?: () => void }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div className="error" role="alert">
      {code && <strong>{code}: </strong>}
      {error.message}
      {retry && (
        <>
          {" "}
          <button type="button" className="link" onClick={retry}>
            Retry
          </button>
        </>
      )}
    </div>
  );
}

export function Loading({ what }: { what?: string }) {
  return <div className="loading">Loading{what ? ` ${what}` : ""}…</div>;
}

export function Code({ children }: { children: string }) {
  return (
    <pre className="code">
      <code>{children}</code>
    </pre>
  );
}

export function Kbd({ children }: { children: string }) {
  return <kbd>{children}</kbd>;
}
