import { useEffect, useState } from "react";
import { api, ApiError, getApiKey, onAuthRequired, setApiKey } from "./api";
import { Link, match, navigate, useLocation } from "./router";
import { useAsync } from "./hooks";
import { ExperimentsPage } from "./pages/Experiments";
import { ExperimentLayout, type ExperimentTab } from "./pages/ExperimentLayout";
import { SqlPage } from "./pages/Sql";
import { TraceDetailPage } from "./pages/TraceDetail";
import { EmptyState } from "./components/common";

export function App() {
  const loc = useLocation();
  const [askKey, setAskKey] = useState<string | null>(null);
  useEffect(() => onAuthRequired((e) => setAskKey(e.message)), []);

  return (
    <div className="app">
      <header className="topbar">
        <Link href="/" className="brand" aria-label="Gavel home">
          <svg width="20" height="20" viewBox="0 0 20 20" aria-hidden="true">
            <rect x="2" y="3" width="11" height="5" rx="1" transform="rotate(-35 7 6)" />
            <rect x="8" y="8" width="2.5" height="11" rx="1" transform="rotate(-35 9 13)" />
            <rect x="1" y="17" width="10" height="2" rx="1" />
          </svg>
          Gavel
        </Link>
        <nav className="mainnav">
          <Link href="/" className={loc.path === "/" || loc.path.startsWith("/experiments") ? "active" : ""}>
            Experiments
          </Link>
          <Link href="/sql" className={loc.path === "/sql" ? "active" : ""}>
            SQL
          </Link>
        </nav>
        <KeyStatus onOpen={() => setAskKey("")} />
      </header>
      <main className="content">
        <Route path={loc.path} />
      </main>
      {askKey !== null && <KeyDialog reason={askKey} onClose={() => setAskKey(null)} />}
    </div>
  );
}

const TABS: ExperimentTab[] = ["traces", "review", "judges", "evaluations"];

function Route({ path }: { path: string }) {
  if (path === "/" || path === "") return <ExperimentsPage />;
  if (path === "/sql") return <SqlPage />;
  let m = match("/experiments/:id", path);
  if (m) return <Redirect to={`/experiments/${encodeURIComponent(m.id!)}/traces`} />;
  m = match("/experiments/:id/traces/:traceId", path);
  if (m) return <ExperimentLayout experimentId={m.id!} tab="traces" traceId={m.traceId} />;
  m = match("/experiments/:id/:tab", path);
  if (m && (TABS as string[]).includes(m.tab!)) return <ExperimentLayout experimentId={m.id!} tab={m.tab as ExperimentTab} />;
  m = match("/traces/:traceId", path);
  if (m) return <TraceDetailPage traceId={m.traceId!} />;
  return (
    <EmptyState title="Page not found">
      <p>
        Nothing lives at this address. Go to the <Link href="/">experiments</Link>.
      </p>
    </EmptyState>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

const ROLE_TEXT: Record<string, string> = {
  read: "browse experiments, traces and assessments; run read-only SQL",
  ingest: "send traces and write assessments (feedback)",
  admin: "everything, including registering judges, sampling and alignment",
};

function KeyStatus({ onOpen }: { onOpen: () => void }) {
  const who = useAsync(() => (getApiKey() ? api.whoami() : Promise.resolve(null)), []);
  const key = getApiKey();
  if (!key) {
    return (
      <button type="button" className="keybtn" onClick={onOpen} title="Enter an API key (only needed when the server has API keys enabled)">
        API key
      </button>
    );
  }
  const roles = who.data?.roles;
  return (
    <button
      type="button"
      className="keybtn set"
      onClick={onOpen}
      title={roles ? roles.map((r) => `${r}: ${ROLE_TEXT[r] ?? r}`).join("\n") : "API key set for this session"}
    >
      Key …{key.slice(-4)}
      {roles && roles.length > 0 ? ` · ${roles.join(", ")}` : ""}
    </button>
  );
}

function KeyDialog({ reason, onClose }: { reason: string; onClose: () => void }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [roles, setRoles] = useState<string[] | null | undefined>(undefined);
  const current = getApiKey();

  async function submit() {
    setError(null);
    const prev = getApiKey();
    sessionStorage.setItem("gavel.apiKey", value.trim());
    try {
      await api.experiments();
      const who = await api.whoami().catch(() => null);
      setRoles(who?.roles ?? null);
      setApiKey(value.trim());
    } catch (err) {
      if (prev) sessionStorage.setItem("gavel.apiKey", prev);
      else sessionStorage.removeItem("gavel.apiKey");
      setError(err instanceof ApiError && err.status === 401 ? "The server refused this key. Check it and try again." : (err as Error).message);
    }
  }

  return (
    <div className="modal-back" role="presentation" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="key-title">
        <h2 id="key-title">API key</h2>
        {reason ? <p className="error">{reason}</p> : null}
        <p>
          This Gavel server may require an API key. It is kept in this tab's session storage only and forgotten when the tab closes.
        </p>
        {roles !== undefined ? (
          <>
            <p>Key accepted.{roles ? " It may:" : " The server did not say what this key may do."}</p>
            {roles && (
              <ul>
                {roles.map((r) => (
                  <li key={r}>
                    <strong>{r}</strong>: {ROLE_TEXT[r] ?? "see the server's documentation"}
                  </li>
                ))}
              </ul>
            )}
            <div className="row">
              <button type="button" className="primary" onClick={onClose} autoFocus>
                Done
              </button>
            </div>
          </>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void submit();
            }}
          >
            <label>
              Key
              <input type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} autoFocus />
            </label>
            {error && <p className="error">{error}</p>}
            <div className="row">
              <button type="submit" className="primary" disabled={!value.trim()}>
                Use key
              </button>
              {current && (
                <button
                  type="button"
                  onClick={() => {
                    setApiKey(null);
                    onClose();
                  }}
                >
                  Forget key
                </button>
              )}
              <button type="button" onClick={onClose}>
                Cancel
              </button>
            </div>
          </form>
        )}
      </div>
    </div>
  );
}
