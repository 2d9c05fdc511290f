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
  private readonly re: RegExp;
  /** `flags` default "u" for a string pattern, the RegExp's own for a RegExp ("g" is dropped). */
  constructor(pattern: string | RegExp, flags?: string) {
    this.re = compile(pattern, flags);
  }

  verify(input: VerifyInput): Verdict {
    if (input.partial) return { score: 0.5, detail: "partial candidate" };
    const ok = this.re.test(answerPart(input.text));
    return { score: ok ? 1 : 0, detail: ok ? `matches ${this.re}` : `does not match ${this.re}` };
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
