/**
 * The one declarative verifier description: what a routing policy file lists under
 * escalation.verifiers and what a chat request names in reasoning.verifier, and `buildVerifier`,
 * the one place that turns a spec into a Verifier. The policy and the request parsers each accept
 * the subset that makes sense for them (PolicyVerifierSpec, RequestVerifierSpec).
 */
import { ArithmeticVerifier } from "./arithmetic.js";
import { JSTestsVerifier } from "./js-tests.js";
import { JSONSchemaVerifier, type JSONSchema } from "./json-schema.js";
import { ModelJudgeVerifier, type JudgeModel } from "./model-judge.js";
import { NonEmptyVerifier, RefusalVerifier, RegexVerifier } from "./regex.js";
import type { Verifier } from "./verifier.js";
import { InputError } from "../errors.js";

export type VerifierSpec =
  /** The question's arithmetic, re-evaluated; the answer must equal it (and the steps are checked). */
  | { type: "arithmetic" }
  /** The answer part must match this regular expression (flags default "u"). */
  | { type: "regex"; pattern: string; flags?: string }
  /** The answer must not be empty or whitespace. */
  | { type: "nonempty" }
  /** The local model declined (its answer matches this pattern): the router escalates with reason local_declined. */
  | { type: "refusal"; pattern: string; flags: string }
  /** Ask a model whether the answer is right (score = P(yes)). */
  | { type: "model_judge" }
  /** The answer's JSON must validate against this schema. */
  | { type: "json_schema"; schema: JSONSchema }
  /** The answer's JavaScript must pass these unit-test bodies (sandboxed). */
  | { type: "js_tests"; tests: string[] };

export type PolicyVerifierSpec = Extract<
  VerifierSpec,
  { type: "arithmetic" | "regex" | "nonempty" | "refusal" }
>;
export type RequestVerifierSpec = Extract<
  VerifierSpec,
  { type: "arithmetic" | "regex" | "model_judge" | "json_schema" | "js_tests" }
>;

/** A spec -> a Verifier. `judge` is the model a model_judge spec asks. */
export function buildVerifier(spec: VerifierSpec, o: { judge?: JudgeModel } = {}): Verifier {
  switch (spec.type) {
    case "arithmetic":
      return new ArithmeticVerifier();
    case "regex":
      return new RegexVerifier(spec.pattern, spec.flags);
    case "nonempty":
      return new NonEmptyVerifier();
    case "refusal":
      return new RefusalVerifier(spec.pattern, spec.flags);
    case "model_judge":
      if (!o.judge) throw new InputError("a model_judge verifier needs a judge model", { field: "verifier" });
      return new ModelJudgeVerifier(o.judge);
    case "json_schema":
      return new JSONSchemaVerifier(spec.schema);
    case "js_tests":
      return new JSTestsVerifier(spec.tests);
  }
}
