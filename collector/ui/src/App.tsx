import { lazy, Suspense, useEffect, useState } from "react";
import { api, ApiError, getApiKey, onAuthRequired, setApiKey } from "./api";
import { Link, match, navigate, useLocation } from "./router";
import { ROLE_TEXT, useAuth } from "./auth";
import { ExperimentsPage } from "./pages/Experiments";
import { ExperimentLayout, type ExperimentTab } from "./pages/ExperimentLayout";
import { TraceDetailPage } from "./pages/TraceDetail";
import { EmptyState, Loading } from "./components/common";

// Pages off the reviewer's path load on first use, keeping the first screen's bundle small.
const SqlPage = lazy(() => import("./pages/Sql").then((m) => ({ default: m.SqlPage })));

export function App() {
  const loc = useLocation();
  const [askKey, setAskKey] = useState<string | null>(null);
  const auth = useAuth();
  useEffect(() => onAuthRequired((e) => setAskKey(e.message)), []);
  // Ask up front rather than after the first refused call.
  useEffect(() => {
    if (auth.loaded && auth.authRequired && !auth.roles) setAskKey((cur) => cur ?? "");
  }, [auth]);

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
        <Suspense fallback={<Loading />}>
          <Route path={loc.path} />
        </Suspense>
      </main>
      {askKey !== null && <KeyDialog reason={askKey} onClose={() => setAskKey(null)} />}
    </div>
  );
}

const TABS: ExperimentTab[] = ["traces", "sessions", "review", "judges", "evaluations"];

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

function KeyStatus({ onOpen }: { onOpen: () => void }) {
  const auth = useAuth();
  const key = getApiKey();
  if (!auth.loaded) return null;
  if (!auth.authRequired) {
    return (
      <span className="muted small" title="This server has no API keys configured, so it listens on loopback only.">
        no API keys
      </span>
    );
  }
  const roles = auth.roles;
  return (
    <button
      type="button"
      className={`keybtn ${roles ? "set" : ""}`}
      onClick={onOpen}
      title={roles ? roles.map((r) => `${r}: ${ROLE_TEXT[r] ?? r}`).join("\n") : "This server needs an API key"}
      data-testid="key-status"
    >
      {key && roles ? (
        <>
          Key …{key.slice(-4)}
          <span className="hide-narrow"> · {roles.join(", ")}</span>
        </>
      ) : (
        "Enter API key"
      )}
    </button>
  );
}

function KeyDialog({ reason, onClose }: { reason: string; onClose: () => void }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [roles, setRoles] = useState<string[] | null>(null);
  const current = getApiKey();

  async function submit() {
    setError(null);
    const key = value.trim();
    const prev = getApiKey();
    // Try the key before keeping it, so a typo does not replace a working key.
    sessionStorage.setItem("gavel.apiKey", key);
    try {
      const who = await api.whoami();
      if (who.authRequired && !who.roles) throw new ApiError(401, "INVALID_API_KEY", "The server does not know this key. Check it and try again.");
      setRoles(who.roles ?? []);
      setApiKey(key);
    } catch (err) {
      if (prev) sessionStorage.setItem("gavel.apiKey", prev);
      else sessionStorage.removeItem("gavel.apiKey");
      setError((err as Error).message);
    }
  }

  return (
    <div className="modal-back" role="presentation" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="key-title">
        <h2 id="key-title">API key</h2>
        {reason && !roles ? <p className="error">{reason}</p> : null}
        <p className="small">
          This Gavel server requires an API key. The UI keeps it in this tab's session storage only: it is forgotten when the tab closes.
        </p>
        {roles ? (
          <>
            <p>Key accepted. It may:</p>
            <ul className="roles">
              {roles.map((r) => (
                <li key={r}>
                  <strong>{r}</strong>: {ROLE_TEXT[r] ?? "see the server's documentation"}
                </li>
              ))}
            </ul>
            {!roles.includes("write") && <p className="muted small">Without the write role you can review traces but not save labels.</p>}
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
              <input type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} autoFocus name="apiKey" />
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
