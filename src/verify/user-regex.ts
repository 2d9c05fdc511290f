/**
 * Regular expressions supplied by a caller (`reasoning.answer_regex`, `reasoning.verifier`
 * `{type: "regex"}`, `pattern` inside a `json_schema` verifier's schema) run on RE2JS, a
 * linear-time engine: no input and no pattern can make matching backtrack exponentially and stall
 * the event loop (`^(?:[\s\S]|[\s\S]|...)*Z` on a few hundred characters froze the server with
 * JS RegExp). RE2 syntax is JS syntax minus backreferences and lookaround: those, and any other
 * pattern RE2 cannot compile, are an InputError naming the field (a 400 at the server edge).
 * Patterns longer than MAX_PATTERN characters are refused (bounds compile time and memory).
 */
import { RE2JS } from "re2js";
import { InputError } from "../errors.js";

export const MAX_PATTERN = 1024;

export interface UserRegex {
  readonly source: string;
  /** Whether the pattern matches anywhere in `text` (RegExp.prototype.test). */
  test(text: string): boolean;
  /** The last match in `text`: group 1 when the pattern has groups, else the whole match. */
  lastMatch(text: string): string | undefined;
}

/** RE2 compiled, or why it cannot be (a predicate for "'field' ..."). */
function compile(pattern: string, flags: { ignoreCase?: boolean }): RE2JS | string {
  if (pattern.length > MAX_PATTERN) return `is longer than ${MAX_PATTERN} characters`;
  try {
    return RE2JS.compile(pattern, flags.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (e) {
    const why = (e as Error).message.replace(/^error parsing regexp: /, "");
    return `is not a supported regular expression (RE2 syntax: no backreferences or lookaround): ${why}`;
  }
}

/** Why a caller's pattern cannot run here (as a predicate: "is longer than ..."), or undefined. */
export function userRegexProblem(pattern: string): string | undefined {
  const re = compile(pattern, {});
  return typeof re === "string" ? re : undefined;
}

/** Compile a caller's pattern; `field` names it in the error. */
export function compileUserRegex(
  pattern: string,
  field: string,
  flags: { ignoreCase?: boolean } = {},
): UserRegex {
  if (typeof pattern !== "string") throw new InputError(`'${field}' must be a string`, { field });
  const re = compile(pattern, flags);
  if (typeof re === "string") throw new InputError(`'${field}' ${re}`, { field });
  return {
    source: pattern,
    test: (text) => re.test(text),
    lastMatch(text) {
      const m = re.matcher(text);
      let last: string | undefined;
      // find() steps past empty matches; the guard only bounds the loop if it ever did not.
      for (let n = 0; n <= text.length && m.find(); n++) {
        last = m.groupCount() > 0 ? (m.group(1) ?? undefined) : (m.group(0) ?? undefined);
      }
      return last;
    },
  };
}
