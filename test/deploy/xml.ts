/**
 * A strict parser for the XML subset ClickHouse configs use: an optional `<?xml …?>`
 * declaration, comments, elements with quoted attributes, text with the five named entities
 * and numeric references. Anything else (DOCTYPE, CDATA, processing instructions, a bare `&`
 * or `<`, `--` inside a comment, a mismatched or unclosed tag, two roots) is an error, so a file
 * this accepts is well-formed XML. It is not a general XML parser and does not need to be.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Text directly inside this element, entities decoded, trimmed. */
  text: string;
}

const NAME = /[A-Za-z_][\w.-]*/y;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export class XmlError extends Error {
  override name = "XmlError";
}

function decode(raw: string, at: number): string {
  if (raw.includes("<")) throw new XmlError(`bare '<' in text near offset ${at}`);
  return raw.replace(/&([^;\s&]*);?/g, (m, ref: string) => {
    if (!m.endsWith(";")) throw new XmlError(`bare '&' near offset ${at}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const num = /^#(x[0-9A-Fa-f]+|\d+)$/.exec(ref);
    if (num) return String.fromCodePoint(num[1]!.startsWith("x") ? parseInt(num[1]!.slice(1), 16) : Number(num[1]));
    throw new XmlError(`unknown entity &${ref}; near offset ${at}`);
  });
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const readName = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    if (!m) throw new XmlError(`expected a name at offset ${i}`);
    i += m[0].length;
    return m[0];
  };

  if (src.startsWith("\uFEFF")) i = 1;
  if (src.startsWith("<?xml", i)) {
    const end = src.indexOf("?>", i);
    if (end < 0) throw new XmlError("unterminated XML declaration");
    i = end + 2;
  }
  while (i < src.length) {
    const lt = src.indexOf("<", i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    if (stack.length === 0) {
      if (text.trim() !== "") throw new XmlError(`text outside the root element at offset ${i}`);
    } else {
      const top = stack[stack.length - 1]!;
      top.text = (top.text + decode(text, i)).trim();
    }
    if (lt < 0) break;
    i = lt;
    if (src.startsWith("<!--", i)) {
      const end = src.indexOf("-->", i + 4);
      if (end < 0) throw new XmlError(`unterminated comment at offset ${i}`);
      if (src.slice(i + 4, end).includes("--") || src[end - 1] === "-") throw new XmlError(`'--' inside a comment at offset ${i}`);
      i = end + 3;
      continue;
    }
    if (src.startsWith("<!", i) || src.startsWith("<?", i)) throw new XmlError(`unsupported markup at offset ${i}`);
    if (src.startsWith("</", i)) {
      i += 2;
      const name = readName();
      skipWs();
      if (src[i] !== ">") throw new XmlError(`expected '>' closing </${name}> at offset ${i}`);
      i++;
      const open = stack.pop();
      if (!open || open.name !== name) throw new XmlError(`</${name}> closes <${open?.name ?? "nothing"}> at offset ${i}`);
      continue;
    }
    i++;
    const el: XmlElement = { name: readName(), attrs: {}, children: [], text: "" };
    for (;;) {
      const before = i;
      skipWs();
      if (src.startsWith("/>", i) || src[i] === ">") break;
      if (i === before) throw new XmlError(`expected whitespace before an attribute at offset ${i}`);
      const attr = readName();
      skipWs();
      if (src[i] !== "=") throw new XmlError(`attribute ${attr} has no value at offset ${i}`);
      i++;
      skipWs();
      const q = src[i];
      if (q !== '"' && q !== "'") throw new XmlError(`attribute ${attr} is not quoted at offset ${i}`);
      const end = src.indexOf(q, i + 1);
      if (end < 0) throw new XmlError(`unterminated attribute ${attr}`);
      if (attr in el.attrs) throw new XmlError(`duplicate attribute ${attr} at offset ${i}`);
      el.attrs[attr] = decode(src.slice(i + 1, end), i);
      i = end + 1;
    }
    const selfClosing = src.startsWith("/>", i);
    i += selfClosing ? 2 : 1;
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    else if (root) throw new XmlError(`a second root element <${el.name}> at offset ${i}`);
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  if (stack.length > 0) throw new XmlError(`<${stack[stack.length - 1]!.name}> is never closed`);
  if (!root) throw new XmlError("no root element");
  return root;
}

/** Children named `name` (direct children only). */
export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** The one child named `name`; throws if there is none or several. */
export function child(el: XmlElement, name: string): XmlElement {
  const found = children(el, name);
  if (found.length !== 1) throw new Error(`<${el.name}> has ${found.length} <${name}> children, expected 1`);
  return found[0]!;
}

/** Every element in the tree, depth first. */
export function walk(el: XmlElement): XmlElement[] {
  return [el, ...el.children.flatMap(walk)];
}
