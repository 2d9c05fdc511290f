/** Tool calling: formats, parsers, prompts, grammars, built-in tools, MCP and the agent loop. */
export * from "./types.js";
export { detectToolFormat, FORMATS, type ToolFormat, type ToolFormatName } from "./formats.js";
export { parseToolCalls, callFromObject } from "./parse.js";
export { createToolCallStreamParser, type ToolCallStreamParser } from "./stream.js";
export { buildToolPrompt, validateTools, fallbackToolSystemPrompt, type ToolPrompt } from "./prompt.js";
export {
  gbnfForTools,
  grammarForTools,
  toolConstraintFactory,
  thinkingBlock,
  type ToolGrammarSpec,
} from "./tool-grammar.js";
export { droppedMarkers, markerAware } from "./markers.js";
export { CallScanner } from "./stream-args.js";
export { parseToolList, chatToolTurn, type ChatTools } from "./cli-tools.js";
export { completionMessage, streamDeltas } from "./openai.js";
export { ToolSet, type Tool } from "./registry.js";
export { runAgent, type AgentModel, type AgentEvent, type AgentOptions, type AgentResult } from "./agent.js";
export { llmAgentModel, type LlmAgentOptions } from "./llm-agent.js";
export { calculatorTool, evaluate } from "./builtin/calculator.js";
export {
  codeRunnerTool,
  runSandboxed,
  type SandboxErrorKind,
  type SandboxOptions,
  type SandboxResult,
} from "./builtin/sandbox.js";
export { fileTools, SandboxedDir } from "./builtin/files.js";
export {
  connectMcpServers,
  loadMcpConfig,
  parseMcpConfig,
  McpConnection,
  type McpServerConfig,
} from "./mcp.js";
