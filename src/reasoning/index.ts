/**
 * Reasoning at test time: the library surface (see each module's header). Verifiers, answer
 * extraction and voting live in src/verify (exported as `verify`).
 */
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
export type { ReasoningFields } from "./server-chat.js";
export { arithmeticTask, loadTask, type EvalItem } from "./eval-task.js";
export { accuracySVG, type PlotSeries, type PlotPoint } from "./plot.js";
export {
  stepSearch,
  llmStepGenerator,
  type StepGenerator,
  type StepSearchOptions,
  type StepSearchResult,
  type Beam,
} from "./step-search.js";
export { mcts, type MctsOptions, type MctsResult, type MctsNode } from "./mcts.js";
