/** Reasoning at test time: the library surface (see each module's header). */
export {
  answerPart,
  normalizeAnswer,
  extractFinal,
  extractBoxed,
  extractLastNumber,
  regexExtractor,
  autoExtract,
  makeExtractor,
  type Extractor,
  type ExtractorName,
} from "./extract.js";
export {
  vote,
  VoteTracker,
  type VoteResult,
  type AnswerCount,
  type StopRule,
  type StopReason,
} from "./vote.js";
export {
  collect,
  type Generator,
  type SampleOptions,
  type SampleEvent,
  type Candidate,
} from "./generator.js";
export {
  selfConsistency,
  type SelfConsistencyOptions,
  type SelfConsistencyResult,
} from "./self-consistency.js";
export { bestOfN, type BestOfNOptions, type BestOfNResult, type Selection } from "./best-of-n.js";
export {
  budgetForcer,
  budgetFor,
  tokenizerPiece,
  ThinkingScanner,
  promptOpensThinking,
  textOpensThinking,
  thinkingState,
  DEFAULT_NUDGE,
  type BudgetOptions,
  type ThinkingState,
} from "./budget.js";
export { splitReasoning, ReasoningSplitter, type ReasoningParts } from "./split.js";
export { llmGenerator, preparePrompt, type LLMGeneratorOptions, type PromptInput } from "./llm-generator.js";
export {
  runStrategy,
  parseStrategy,
  type StrategyName,
  type StrategyOptions,
  type StrategyResult,
} from "./strategy.js";
export { evalConfig, configLabel, type EvalConfig, type EvalPoint } from "./eval.js";
export { sweepConfigs, runSweep, formatTable, plotSeries, type SweepFlags } from "./eval-sweep.js";
export { parseReasoningFields, type ReasoningFields, type VerifierSpec } from "./server-fields.js";
export { arithmeticTask, loadTask, type EvalItem } from "./eval-task.js";
export { accuracySVG, type PlotSeries, type PlotPoint } from "./plot.js";
export { type Verifier, type Verdict, type VerifyInput, combineVerifiers } from "./verifiers/verifier.js";
export { ArithmeticVerifier, questionValue, checkSteps } from "./verifiers/arithmetic.js";
export { JSONSchemaVerifier, validateJSON, extractJSON, type JSONSchema } from "./verifiers/json-schema.js";
export { RegexVerifier } from "./verifiers/regex.js";
export { JSTestsVerifier, runJSTests, type JSTestsOptions } from "./verifiers/js-tests.js";
export {
  ModelJudgeVerifier,
  llmJudge,
  defaultJudgePrompt,
  type JudgeModel,
} from "./verifiers/model-judge.js";
export {
  stepSearch,
  llmStepGenerator,
  type StepGenerator,
  type StepSearchOptions,
  type StepSearchResult,
  type Beam,
} from "./step-search.js";
