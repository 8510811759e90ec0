import { useState, type ReactNode } from "react";
import { safeJson } from "../format";

const LIMIT = 20_000;

/**
 * Pretty-printed JSON, coloured by token. Every token is a React text node, so markup
 * inside a value (`<script>`, `<img onerror>`) is shown as characters and never parsed.
 */
export function JsonView({ value, className }: { value: unknown; className?: string }) {
  const [all, setAll] = useState(false);
  // A plain string reads better unquoted, with its own line breaks.
  const text = typeof value === "string" ? value : safeJson(value, 2);
  const cut = !all && text.length > LIMIT;
  const shown = cut ? text.slice(0, LIMIT) : text;
  return (
    <div className={`json ${className ?? ""}`}>
      <pre>{typeof value === "string" ? shown : highlight(shown)}</pre>
      {cut && (
        <button type="button" className="link" onClick={() => setAll(true)}>
          Show all {text.length.toLocaleString("en-US")} characters
        </button>
      )}
    </div>
  );
}

const TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

function highlight(s: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let i = 0;
  for (const m of s.matchAll(TOKEN)) {
    if (m.index > last) out.push(s.slice(last, m.index));
    const cls = m[1] ? (m[2] ? "j-key" : "j-str") : m[3] ? "j-lit" : "j-num";
    out.push(
      <span key={i++} className={cls}>
        {m[1] ?? m[0]}
      </span>,
    );
    if (m[2]) out.push(m[2]);
    last = m.index + m[0].length;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}
