import { useCallback, useEffect, useRef, useState } from "react";
import { onAuthChange } from "./api";

export interface AsyncState<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `fn` when deps change (and again after an API key is entered); stale answers are dropped. */
export function useAsync<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => onAuthChange(reload), [reload]);
  useEffect(() => {
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    fn(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, loading: false }),
      (error: Error) => !ac.signal.aborted && error.name !== "AbortError" && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  if (!t) return false;
  const tag = t.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || t.isContentEditable;
}

/**
 * Page keyboard shortcuts. Keys are ignored while typing in a field unless the handler
 * asks for them (`mod+Enter`), and when a modifier other than Shift is held.
 */
export function useHotkeys(map: Record<string, (e: KeyboardEvent) => void>, enabled = true): void {
  const ref = useRef(map);
  ref.current = map;
  useEffect(() => {
    if (!enabled) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key === "Enter" && ref.current["mod+Enter"]) {
        e.preventDefault();
        ref.current["mod+Enter"](e);
        return;
      }
      if (mod || e.altKey || isTyping(e)) return;
      const h = ref.current[e.key];
      if (h) {
        e.preventDefault();
        h(e);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [enabled]);
}

/** A value kept in localStorage, so it survives reloads and new tabs (reviewer name, editor text). */
export function useStored(key: string, initial: string): [string, (v: string) => void] {
  const [v, setV] = useState(() => {
    try {
      return localStorage.getItem(key) ?? initial;
    } catch {
      return initial;
    }
  });
  const set = useCallback(
    (nv: string) => {
      setV(nv);
      try {
        localStorage.setItem(key, nv);
      } catch {
        /* private mode: keep it for this page only */
      }
    },
    [key],
  );
  return [v, set];
}
