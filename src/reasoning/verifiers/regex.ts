/** Regex verifier: 1 when the answer part (after </think>) matches the caller's pattern, else 0. */
import { InputError } from "../../errors.js";
import { answerPart } from "../extract.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";

export class RegexVerifier implements Verifier {
  readonly name = "regex";
  private readonly re: RegExp;
  constructor(pattern: string | RegExp) {
    try {
      this.re =
        typeof pattern === "string"
          ? new RegExp(pattern, "u")
          : new RegExp(pattern.source, pattern.flags.replace("g", ""));
    } catch (e) {
      throw new InputError(`verifier regex does not compile: ${(e as Error).message}`, { field: "regex" });
    }
  }

  verify(input: VerifyInput): Verdict {
    if (input.partial) return { score: 0.5, detail: "partial candidate" };
    const ok = this.re.test(answerPart(input.text));
    return { score: ok ? 1 : 0, detail: ok ? "matches" : `does not match ${this.re}` };
  }
}
