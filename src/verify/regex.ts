/**
 * Text verifiers, each 1 (pass) or 0 (fail), on the answer part (after </think>):
 *   RegexVerifier     the answer matches the caller's pattern;
 *   RefusalVerifier   the answer does NOT match a decline pattern ("I can't answer that
 *                     locally"): the router escalates such answers with reason local_declined;
 *   NonEmptyVerifier  the answer is not empty or whitespace.
 * Partial candidates (step search) get a neutral 0.5.
 */
import { InputError } from "../errors.js";
import { answerPart } from "./extract.js";
import { compileUserRegex } from "./user-regex.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";

function compile(pattern: string | RegExp, flags: string | undefined): RegExp {
  try {
    return typeof pattern === "string"
      ? new RegExp(pattern, flags ?? "u")
      : new RegExp(pattern.source, (flags ?? pattern.flags).replace("g", ""));
  } catch (e) {
    throw new InputError(`verifier regex does not compile: ${(e as Error).message}`, { field: "regex" });
  }
}

export class RegexVerifier implements Verifier {
  readonly name = "regex";
  private readonly re: { test(s: string): boolean; source: string };
  /**
   * A string is a caller's pattern and runs on RE2 (linear time, user-regex.ts; flag "i" is the
   * only one it takes); a RegExp is the program's own and runs as given ("g" is dropped).
   */
  constructor(pattern: string | RegExp, flags?: string) {
    this.re =
      typeof pattern === "string"
        ? compileUserRegex(pattern, "regex", { ignoreCase: flags?.includes("i") })
        : compile(pattern, flags);
  }

  verify(input: VerifyInput): Verdict {
    if (input.partial) return { score: 0.5, detail: "partial candidate" };
    const ok = this.re.test(answerPart(input.text));
    return {
      score: ok ? 1 : 0,
      detail: ok ? `matches /${this.re.source}/` : `does not match /${this.re.source}/`,
    };
  }
}

export class RefusalVerifier implements Verifier {
  readonly name = "refusal";
  private readonly re: RegExp;
  constructor(pattern: string | RegExp, flags?: string) {
    this.re = compile(pattern, flags);
  }

  verify(input: VerifyInput): Verdict {
    if (input.partial) return { score: 0.5, detail: "partial candidate" };
    const m = this.re.exec(answerPart(input.text));
    return m
      ? { score: 0, detail: `the local model declined ("${m[0]}")` }
      : { score: 1, detail: "no refusal" };
  }
}

export class NonEmptyVerifier implements Verifier {
  readonly name = "nonempty";
  verify(input: VerifyInput): Verdict {
    if (input.partial) return { score: 0.5, detail: "partial candidate" };
    const ok = answerPart(input.text).trim().length > 0;
    return { score: ok ? 1 : 0, detail: ok ? "answer present" : "empty answer" };
  }
}
