/**
 * Find one complete JSON value at a position in model output (string-aware bracket matching),
 * so a tool call's JSON can be cut out of surrounding text before JSON.parse.
 */

/** End index (exclusive) of the JSON object/array starting at `from` (which must be '{' or '['), or -1. */
export function jsonValueEnd(text: string, from: number): number {
  const open = text[from];
  if (open !== "{" && open !== "[") return -1;
  let depth = 0;
  let inStr = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Parse the JSON value starting at `from` (after whitespace): [value, end] or undefined. */
export function parseJsonAt(text: string, from: number): [unknown, number] | undefined {
  let i = from;
  while (i < text.length && /\s/.test(text[i])) i++;
  const end = jsonValueEnd(text, i);
  if (end < 0) return undefined;
  try {
    return [JSON.parse(text.slice(i, end)), end];
  } catch {
    return undefined;
  }
}
