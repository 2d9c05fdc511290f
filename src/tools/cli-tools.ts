/**
 * Tools on the command line: `edgellm chat --tools calculator,js,files:DIR [--tool-choice C]
 * [--max-steps N]`. Each chat turn then runs the agent loop (runAgent over llmAgentModel): the
 * model's calls are executed, the results fed back, until it answers without a call or the step
 * limit is reached. Calls and results are reported on stderr; the answer streams to stdout; the
 * whole exchange (calls and results included) stays in the session history.
 *   calculator  arithmetic (no eval)
 *   js          JavaScript in the QuickJS/wasm sandbox (no host objects, fs, network; time and memory limits)
 *   files:DIR   read_file / list_dir confined to DIR
 */
import type { Command } from "commander";
import type { LLM } from "../engine/llm.js";
import { InputError } from "../errors.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import { runAgent, type AgentEvent } from "./agent.js";
import { calculatorTool } from "./builtin/calculator.js";
import { fileTools } from "./builtin/files.js";
import { codeRunnerTool } from "./builtin/sandbox.js";
import { llmAgentModel } from "./llm-agent.js";
import { ToolSet, type Tool } from "./registry.js";
import type { ToolChoice } from "./types.js";

export interface ToolCliOptions {
  tools?: string;
  toolChoice: string;
  maxSteps: string;
}

export function addToolOptions(cmd: Command): Command {
  return cmd
    .option("--tools <list>", "let the model call tools: calculator, js, files:DIR (comma-separated)")
    .option("--tool-choice <c>", "auto, required, none, or a tool name", "auto")
    .option("--max-steps <n>", "model calls per turn at most, with --tools", "6");
}

/** `calculator,js,files:DIR` -> a ToolSet. Unknown names are an InputError. */
export function parseToolList(spec: string): ToolSet {
  const tools: Tool[] = [];
  for (const raw of spec.split(",")) {
    const item = raw.trim();
    if (item === "calculator") tools.push(calculatorTool);
    else if (item === "js") tools.push(codeRunnerTool());
    else if (item.startsWith("files:") && item.length > 6) tools.push(...fileTools(item.slice(6)));
    else
      throw new InputError(`--tools: unknown tool '${item}'`, {
        field: "--tools",
        hint: "calculator, js, files:DIR",
      });
  }
  return new ToolSet(tools);
}

export interface ChatTools {
  tools: ToolSet;
  toolChoice: ToolChoice;
  maxSteps: number;
}

/** Validate the flags (before the model loads); undefined without --tools. */
export function chatToolsFromOptions(o: ToolCliOptions): ChatTools | undefined {
  if (o.tools === undefined) return undefined;
  const tools = parseToolList(o.tools);
  const c = o.toolChoice;
  let toolChoice: ToolChoice;
  if (c === "auto" || c === "required" || c === "none") toolChoice = c;
  else if (tools.has(c)) toolChoice = { type: "function", function: { name: c } };
  else
    throw new InputError(`--tool-choice: '${c}' is not auto, required, none or a tool name`, {
      field: "--tool-choice",
    });
  const maxSteps = Number(o.maxSteps);
  if (!Number.isInteger(maxSteps) || maxSteps < 1 || maxSteps > 64)
    throw new InputError(`--max-steps must be an integer in 1..64, got '${o.maxSteps}'`, {
      field: "--max-steps",
    });
  return { tools, toolChoice, maxSteps };
}

function describe(e: AgentEvent): string | undefined {
  if (e.type === "assistant")
    return (
      e.toolCalls.map((c) => `[call ${c.function.name}(${c.function.arguments})]\n`).join("") || undefined
    );
  const r = e.result.length > 200 ? `${e.result.slice(0, 200)}...` : e.result;
  return `[${e.call.function.name} -> ${r.replace(/\s+/g, " ")}]\n`;
}

/**
 * One chat turn with tools: `history` (system + earlier turns) gets the user message, the calls,
 * the results and the answer appended. Returns the number of model calls made.
 */
export async function chatToolTurn(
  llm: LLM,
  history: ChatMessage[],
  user: string,
  t: ChatTools,
  gen: { maxTokens?: number; temperature?: number; topP?: number; seed?: number; signal?: AbortSignal },
  out: { text(s: string): void; status(s: string): void },
): Promise<number> {
  const before = history.length;
  history.push({ role: "user", content: user });
  const model = llmAgentModel(llm, { ...gen, onText: out.text });
  let r;
  try {
    r = await runAgent({
      model,
      tools: t.tools,
      messages: history.slice(),
      toolChoice: t.toolChoice,
      maxSteps: t.maxSteps,
      signal: gen.signal,
      onEvent: (e) => {
        const s = describe(e);
        if (s) out.status(s);
      },
    });
  } catch (e) {
    // Ctrl-C: the turn ends; the user message stays, nothing half-done is kept.
    if (gen.signal?.aborted) {
      out.status("[stopped]\n");
      return 0;
    }
    history.splice(before);
    throw e;
  }
  history.splice(before, history.length - before, ...r.messages.slice(before));
  if (r.stopReason === "max_steps") out.status(`[stopped after ${r.steps} model calls]\n`);
  return r.steps;
}
