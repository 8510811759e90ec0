import { JsonView } from "./JsonView";

export interface ChatMessage {
  role: string;
  text: string;
  extra?: unknown;
}

function partText(p: unknown): string | null {
  if (typeof p === "string") return p;
  if (p && typeof p === "object") {
    const o = p as Record<string, unknown>;
    if (typeof o.content === "string") return o.content;
    if (typeof o.text === "string") return o.text;
    if (o.type === "tool_call" || o.type === "tool_use" || o.type === "function") return `→ ${String(o.name ?? "tool")}(${JSON.stringify(o.arguments ?? o.input ?? {})})`;
  }
  return null;
}

function toMessage(m: unknown): ChatMessage | null {
  if (!m || typeof m !== "object" || Array.isArray(m)) return null;
  const o = m as Record<string, unknown>;
  const inner = o.message && typeof o.message === "object" ? (o.message as Record<string, unknown>) : o;
  const role = inner.role;
  if (typeof role !== "string") return null;
  let text: string | null = null;
  const content = inner.content;
  if (typeof content === "string") text = content;
  else if (Array.isArray(content)) text = content.map(partText).filter((t) => t !== null).join("\n");
  else if (Array.isArray(inner.parts)) text = inner.parts.map(partText).filter((t) => t !== null).join("\n");
  else if (content === null || content === undefined) text = "";
  if (text === null) return null;
  const calls = inner.tool_calls;
  if (Array.isArray(calls) && calls.length > 0) {
    const names = calls.map((c) => {
      const f = (c as { function?: { name?: string; arguments?: string } }).function;
      return `→ ${f?.name ?? "tool"}(${f?.arguments ?? ""})`;
    });
    text = [text, ...names].filter(Boolean).join("\n");
  }
  return { role, text };
}

/**
 * Chat messages in the shapes apps log them: OpenAI/Anthropic `messages` arrays and
 * `choices`, GenAI semantic-convention messages with `parts`, a single `{role, content}`.
 * Null when the value is not a conversation.
 */
export function asChat(v: unknown): ChatMessage[] | null {
  let list: unknown = v;
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.messages)) list = o.messages;
    else if (Array.isArray(o.choices)) list = o.choices;
    else if (typeof o.role === "string") list = [o];
    else return null;
  }
  if (!Array.isArray(list) || list.length === 0) return null;
  const msgs = list.map(toMessage);
  return msgs.every((m): m is ChatMessage => m !== null) ? msgs : null;
}

export function Conversation({ messages }: { messages: ChatMessage[] }) {
  return (
    <ol className="chat">
      {messages.map((m, i) => (
        <li key={i} className={`msg role-${/^(user|assistant|system|tool)$/.test(m.role) ? m.role : "other"}`}>
          <div className="msg-role">{m.role}</div>
          <div className="msg-text">{m.text || <span className="muted">(empty)</span>}</div>
        </li>
      ))}
    </ol>
  );
}

/** Inputs or outputs: a conversation when they are chat messages, otherwise pretty JSON. */
export function Payload({ value, label }: { value: unknown; label: string }) {
  const chat = asChat(value);
  if (value === null || value === undefined || value === "") {
    return (
      <section className="payload">
        <h4>{label}</h4>
        <p className="muted">None recorded.</p>
      </section>
    );
  }
  return (
    <section className="payload">
      <h4>
        {label}
        {chat && <span className="muted small"> · conversation of {chat.length}</span>}
      </h4>
      {chat ? (
        <>
          <Conversation messages={chat} />
          <details className="raw">
            <summary>Raw JSON</summary>
            <JsonView value={value} />
          </details>
        </>
      ) : (
        <JsonView value={value} />
      )}
    </section>
  );
}
