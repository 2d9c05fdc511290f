/** Regex verifier: 1 when the answer part (after </think>) matches the caller's pattern, else 0. */
import { InputError } from "../../errors.js";
import { answerPart } from "../extract.js";
import { compileUserRegex } from "../user-regex.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";

export class RegexVerifier implements Verifier {
  readonly name = "regex";
  private readonly re: { test(s: string): boolean; source: string };
  /** A string is a caller's pattern (RE2, linear time: user-regex.ts); a RegExp is the program's own. */
  constructor(pattern: string | RegExp) {
    if (typeof pattern === "string") {
      this.re = compileUserRegex(pattern, "regex");
      return;
    }
    try {
      this.re = new RegExp(pattern.source, pattern.flags.replace("g", ""));
    } catch (e) {
      throw new InputError(`verifier regex does not compile: ${(e as Error).message}`, { field: "regex" });
    }
  }

  verify(input: VerifyInput): Verdict {
    if (input.partial) return { score: 0.5, detail: "partial candidate" };
    const ok = this.re.test(answerPart(input.text));
    return { score: ok ? 1 : 0, detail: ok ? "matches" : `does not match /${this.re.source}/` };
  }
}
