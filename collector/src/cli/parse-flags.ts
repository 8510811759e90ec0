import { InvalidArgumentError } from "commander";

export function parsePort(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError(`"${v}" is not a port: use a number from 0 to 65535.`);
  return Number(v);
}

/** `--param name=value`, repeatable; values that parse as JSON numbers/booleans are sent as such. */
export function collectParam(v: string, acc: Record<string, unknown> = {}): Record<string, unknown> {
  const i = v.indexOf("=");
  if (i <= 0) throw new InvalidArgumentError(`"${v}" is not name=value. Example: --param model=gpt-4o`);
  const name = v.slice(0, i);
  if (!/^\w+$/.test(name)) throw new InvalidArgumentError(`Parameter name "${name}" must be letters, digits and _.`);
  const raw = v.slice(i + 1);
  acc[name] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === "true" ? true : raw === "false" ? false : raw;
  return acc;
}
