/**
 * GBNF for JSON values (RFC 8259), with bounded whitespace and number lengths so a model cannot
 * run away inside a number or a whitespace run: at most one newline plus 20 indent characters
 * between tokens, integers of at most 16 digits, fractions of at most 16, exponents of 3.
 */

/** Primitive rules shared by every JSON grammar (names are prefixed to avoid clashes). */
export const JSON_PRIMITIVES: Record<string, string> = {
  ws: `( " " | "\\n" [ \\t]{0,20} )?`,
  "json-value": `json-object | json-array | json-string | json-number | json-boolean | json-null`,
  "json-object": `"{" ws ( json-member ( "," ws json-member )* )? "}"`,
  "json-member": `json-string ws ":" ws json-value ws`,
  "json-array": `"[" ws ( json-value ws ( "," ws json-value ws )* )? "]"`,
  "json-string": `"\\"" json-char* "\\""`,
  "json-char": `[^"\\\\\\x00-\\x1f] | "\\\\" ( ["\\\\/bfnrt] | "u" [0-9a-fA-F]{4} )`,
  "json-int": `"-"? ( "0" | [1-9] [0-9]{0,15} )`,
  "json-number": `json-int ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?`,
  "json-integer": `json-int`,
  "json-boolean": `"true" | "false"`,
  "json-null": `"null"`,
};

/** Which primitives a rule body needs (transitively), in a stable order. */
export function primitivesFor(bodies: Iterable<string>): string[] {
  const need = new Set<string>();
  const visit = (body: string): void => {
    for (const name of Object.keys(JSON_PRIMITIVES)) {
      if (need.has(name)) continue;
      if (new RegExp(`(^|[^A-Za-z0-9_-])${name}($|[^A-Za-z0-9_-])`).test(stripStrings(body))) {
        need.add(name);
        visit(JSON_PRIMITIVES[name]);
      }
    }
  };
  for (const b of bodies) visit(b);
  return Object.keys(JSON_PRIMITIVES).filter((n) => need.has(n));
}

/** Remove string literals and classes so names inside them are not mistaken for references. */
function stripStrings(body: string): string {
  return body.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[(?:[^\]\\]|\\.)*\]/g, "[]");
}

/** A GBNF string literal matching exactly the UTF-8 of `text`. */
export function gbnfLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

/** GBNF for an any-JSON-value document (response_format json_object: an object at the top). */
export function jsonObjectGBNF(): string {
  const root = `root ::= json-object`;
  return [root, ...primitivesFor(["json-object"]).map((n) => `${n} ::= ${JSON_PRIMITIVES[n]}`)].join("\n");
}
