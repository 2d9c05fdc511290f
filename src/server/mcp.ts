/**
 * Tools the server offers itself (`edgellm serve --mcp <config.json>`: tools of MCP servers).
 *
 * Behaviour: a chat request that brings no `tools` of its own (and no json response_format, and
 * tool_choice is not "none") is offered the server's tools. The server then runs the agent loop
 * itself: the model's calls are executed on the MCP servers, the results are fed back as
 * `role: "tool"` messages, and the model is asked again, until it answers without a call or
 * `MAX_STEPS` model calls were made (the last one without tools, so it must answer). The client
 * gets the final answer as an ordinary assistant message (finish_reason "stop"/"length"); the
 * calls that ran are listed in the extension field `tool_trace`. A streaming request gets every
 * step's content as it is generated (call markup left out), `tool_trace` on the last chunk. Requests with their own `tools` are not
 * affected: their calls go back to the client as usual.
 */
import type { FastifyReply } from "fastify";
import type { GenerateOptions } from "../engine/llm.js";
import { runAgent, type AgentModel } from "../tools/agent.js";
import { connectMcpServers, type McpServerConfig } from "../tools/mcp.js";
import { parseToolCalls } from "../tools/parse.js";
import { ToolSet } from "../tools/registry.js";
import type { EdgeServer, ServerContext } from "./context.js";
import { newId } from "./drive.js";
import type { ChatRequest } from "./openai/types.js";
import { usageOf } from "./generation.js";
import { SseWriter } from "./sse.js";
import { ToolTurn } from "./tools.js";

/** Connect to the configured MCP servers and offer their tools on this server. */
export async function attachMcp(
  server: EdgeServer,
  config: Record<string, McpServerConfig>,
): Promise<{ tools: string[]; close(): Promise<void> }> {
  const conn = await connectMcpServers(config);
  const set = new ToolSet(conn.tools);
  setServerTools(server.ctx, set);
  return { tools: set.definitions.map((d) => d.function.name), close: conn.close };
}

/** Model calls per request at most (the last is made without tools). */
export const MAX_STEPS = 6;

const serverTools = new WeakMap<ServerContext, ToolSet>();

/** Offer `tools` to requests without tools of their own (see the file header). */
export function setServerTools(ctx: ServerContext, tools: ToolSet): void {
  serverTools.set(ctx, tools);
}

export function mcpToolsOf(ctx: ServerContext): ToolSet | undefined {
  return serverTools.get(ctx);
}

export interface ToolTraceEntry {
  name: string;
  arguments: string;
  result: string;
}

/**
 * Run the server-side agent loop for one request and answer it: JSON with the last step's
 * content, or SSE with every step's content streamed as it is generated (call markup left out)
 * and the calls that ran in `tool_trace` on the final chunk.
 */
export async function serverToolChat(
  ctx: ServerContext,
  reply: FastifyReply,
  r: ChatRequest,
  first: ToolTurn,
  opts: GenerateOptions,
): Promise<unknown> {
  const { llm, metrics } = ctx;
  const ac = new AbortController();
  const onClose = () => !reply.raw.writableFinished && ac.abort();
  reply.raw.on("close", onClose);
  const usage = { prompt: first.prompt.length, completion: 0, cached: 0 };
  let finish = "stop";
  const base = {
    id: newId("chatcmpl"),
    created: Math.floor(Date.now() / 1000),
    model: r.model,
    system_fingerprint: "edgellm",
  };
  let sse: SseWriter | undefined;
  const chunk = (delta: object, f: string | null, extra: object = {}) =>
    sse?.send({
      ...base,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: f }],
      ...extra,
    });
  const model: AgentModel = async (messages, tools, toolChoice) => {
    const turn = new ToolTurn(
      llm,
      { ...first.f, tools: tools.length ? tools : undefined, toolChoice: tools.length ? toolChoice : "none" },
      messages,
      first.kwargs,
    );
    ctx.admit(turn.prompt, 1);
    turn.compile(); // the grammar only after the context check
    let text = "";
    for await (const c of llm.generate(turn.prompt, {
      ...opts,
      ...turn.options(),
      n: 1,
      signal: ac.signal,
    })) {
      const t = c.type === "token" ? turn.tokenText(c.token, c.text) : c.text;
      text += t;
      if (sse) for (const d of turn.push(0, t)) if (d.content) chunk({ content: d.content }, null);
      if (c.type === "done") {
        if (sse)
          for (const d of turn.end(0, "stop").deltas) if (d.content) chunk({ content: d.content }, null);
        usage.completion += c.completionTokens;
        usage.cached = Math.max(usage.cached, c.cachedTokens);
        finish = c.reason === "length" ? "length" : "stop";
      }
    }
    return turn.callsTools ? parseToolCalls(text, turn.format) : { content: text.trim(), toolCalls: [] };
  };
  if (r.stream) {
    reply.hijack();
    sse = new SseWriter(reply.raw);
    chunk({ role: "assistant", content: "" }, null);
  }
  const trace: ToolTraceEntry[] = [];
  let result: Awaited<ReturnType<typeof runAgent>>;
  try {
    result = await runAgent({
      model,
      tools: first.f.serverTools!,
      messages: first.messages,
      maxSteps: MAX_STEPS,
      toolChoice: first.f.toolChoice,
      signal: ac.signal,
      onEvent: (e) =>
        e.type === "tool_result" &&
        trace.push({ name: e.call.function.name, arguments: e.call.function.arguments, result: e.result }),
    });
  } catch (e) {
    if (!sse) throw e;
    if (!ac.signal.aborted) ctx.streamError(sse, e, "chat");
    return undefined;
  } finally {
    reply.raw.off("close", onClose);
  }
  if (ac.signal.aborted) return sse ? undefined : reply.code(499).send();
  metrics.requests.inc({ endpoint: "chat", status: "200" });
  const u = usageOf(usage.prompt, usage.completion, usage.cached);
  if (sse) {
    chunk({}, finish, { tool_trace: trace });
    if (r.includeUsage) sse.send({ ...base, object: "chat.completion.chunk", choices: [], usage: u });
    sse.end();
    return undefined;
  }
  return {
    ...base,
    object: "chat.completion",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: result.final, refusal: null },
        logprobs: null,
        finish_reason: finish,
      },
    ],
    usage: u,
    tool_trace: trace,
  };
}
