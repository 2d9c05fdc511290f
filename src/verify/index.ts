/**
 * Verification, one module: the Verifier type and its implementations, the declarative
 * VerifierSpec, answer extraction, voting, and the expression evaluator. Used by reasoning
 * (best-of-N, self-consistency, step search), the router (escalation checks), tools (calculator)
 * and evals.
 */
export {
  type Verifier,
  type Verdict,
  type VerifyInput,
  accepts,
  clampScore,
  combineVerifiers,
} from "./verifier.js";
export {
  buildVerifier,
  type VerifierSpec,
  type PolicyVerifierSpec,
  type RequestVerifierSpec,
} from "./spec.js";
export { ArithmeticVerifier, checkSteps, type StepCheck } from "./arithmetic.js";
export { RegexVerifier, RefusalVerifier, NonEmptyVerifier } from "./regex.js";
export { JSONSchemaVerifier, validateJSON, extractJSON, type JSONSchema } from "./json-schema.js";
export { JSTestsVerifier, runJSTests, type JSTestsOptions } from "./js-tests.js";
export { ModelJudgeVerifier, llmJudge, defaultJudgePrompt, type JudgeModel } from "./model-judge.js";
export {
  answerPart,
  normalizeAnswer,
  extractFinal,
  extractBoxed,
  extractLastNumber,
  lastNumber,
  regexExtractor,
  autoExtract,
  makeExtractor,
  type Extractor,
  type ExtractorName,
} from "./extract.js";
export {
  vote,
  VoteTracker,
  answerKey,
  agreement,
  type VoteResult,
  type AnswerCount,
  type StopRule,
  type StopReason,
} from "./vote.js";
export { evaluate, evaluateStrict, sameNumber, type Dialect } from "./expression.js";
export { symbolize, findExpression, questionValue } from "./question.js";
