/** POST /v1/chat/completions: streaming (SSE chunks) and non-streaming. */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { GenerateOptions, LLM } from "../../engine/llm.js";
import type { TokenLogprob } from "../../sampling/logprobs.js";
import { drive, newId } from "../drive.js";
import { SseWriter } from "../sse.js";
import { validateChat } from "../openai/validate.js";
import { imagesUnsupported } from "../openai/image-parts.js";
import { badRequest } from "../openai/errors.js";
import { mediaPrompt } from "../images.js";
import type { ChatLogprob, ChatRequest } from "../openai/types.js";
import type { LocalChat, ServerContext } from "../context.js";
import { genOptions, tokenPiece, usageOf } from "../generation.js";
import {
  ThinkingAccount,
  chatKwargs,
  splitMessage,
  strategyChat,
  thinkingOptions,
} from "../../reasoning/server-chat.js";
import { modelThinks, splitsReasoning } from "../../reasoning/split-default.js";
import { toolTurn } from "../tools.js";
import { chatWindow, dropOldestTurns } from "../../engine/chat-window.js";
import { mcpToolsOf, serverToolChat } from "../mcp.js";

function chatLogprob(llm: LLM, t: TokenLogprob, top: TokenLogprob[]): ChatLogprob {
  return {
    ...tokenPiece(llm, t.id),
    logprob: t.logprob,
    top_logprobs: top.map((x) => ({ ...tokenPiece(llm, x.id), logprob: x.logprob })),
  };
}

/**
 * truncate: "oldest_turns": drop the oldest whole turns of r.messages (in place) until the prompt
 * leaves room for the answer (max_tokens, at most a quarter of the context); the count dropped.
 * A single message still too long stays the 400 (admit).
 */
function fitOldestTurns(llm: LLM, r: ChatRequest, kwargs: Record<string, unknown> | undefined): number {
  const ctx = llm.contextSize;
  const room = Math.max(1, Math.min(r.maxTokens ?? Math.floor(ctx / 4), Math.floor(ctx / 4)));
  const fitted = dropOldestTurns(r.messages, 0, Math.max(1, ctx - room), (w) => llm.encodeChat(w, kwargs));
  if (fitted.dropped > 0) r.messages = chatWindow(r.messages, fitted.first);
  return fitted.dropped;
}

/** POST /v1/chat/completions; with a router installed (server/routing), the router's decision comes first. */
export function registerChat(app: FastifyInstance, ctx: ServerContext): void {
  const local: LocalChat = (body, reply) => answerChat(ctx, body, reply);
  app.post("/v1/chat/completions", async (request, reply) =>
    ctx.routeChat ? ctx.routeChat(request, reply, local) : local(request.body, reply),
  );
}

/**
 * Answers one chat request on the local model: returns the chat.completion object (fastify sends
 * it), or answers through `reply` itself (a stream, a 499) and returns what the reply gives.
 */
async function answerChat(ctx: ServerContext, body: unknown, reply: FastifyReply): Promise<unknown> {
  const { llm, metrics } = ctx;
  const r: ChatRequest = validateChat(body, ctx.models);
  // Images are validated and decoded (400 for a bad one); read when a vision model is served.
  if (r.images && !ctx.vision) throw imagesUnsupported(r);
  const th = r.thinking; // reasoning extension fields (validated in openai/validate.ts)
  if (r.images && (r.truncate || (th?.strategy && th.strategy.name !== "greedy")))
    throw badRequest("image input cannot be combined with 'truncate' or sampling strategies", "messages");
  // Opt-in: a conversation longer than the context loses its oldest turns instead of a 400.
  const dropped = r.truncate === "oldest_turns" ? fitOldestTurns(llm, r, chatKwargs(th)) : 0;
  // tools / tool_choice / response_format / tool messages (server/tools.ts); undefined when unused.
  const tt = toolTurn(llm, body, r, chatKwargs(th), mcpToolsOf(ctx));
  if (r.images && tt)
    throw badRequest("image input cannot be combined with tools or response_format", "messages");
  // Images: encoded (or taken from the embedding cache) and placed at their parts (server/images.ts).
  const mp = r.images ? mediaPrompt(ctx, r, chatKwargs(th)) : undefined;
  const prompt = ctx.admit(
    tt?.prompt ?? mp?.tokens ?? llm.encodeChat(r.messages, chatKwargs(th)),
    th?.strategy?.samples ?? r.n,
  );
  tt?.compile(); // the grammar, only once the request is known to fit (context, queue)
  const opts: GenerateOptions = {
    ...genOptions(r, prompt, llm),
    logprobs: r.topLogprobs,
    ...thinkingOptions(llm, th),
    ...tt?.options(),
    ...(mp ? { media: mp.media } : {}),
  };
  if (tt?.f.serverTools) return serverToolChat(ctx, reply, r, tt, opts);
  // reasoning_content: split by default for models that think (reasoning_format / separate_reasoning)
  const split = splitsReasoning(r.reasoningFormat, modelThinks(llm.tokenizer), th !== undefined);
  const acct = th || split ? new ThinkingAccount(llm, prompt) : undefined; // also counts reasoning tokens
  const id = newId("chatcmpl");
  const created = Math.floor(Date.now() / 1000);
  const base = { id, created, model: r.model, system_fingerprint: "edgellm" };
  const usage = { completion: 0, cached: 0, evicted: 0 };

  if (th?.strategy && th.strategy.name !== "greedy") {
    const ac = new AbortController();
    const onClose = () => !reply.raw.writableFinished && ac.abort();
    reply.raw.on("close", onClose);
    const out = await strategyChat(llm, prompt, r.messages, th, { ...opts, signal: ac.signal }).finally(() =>
      reply.raw.off("close", onClose),
    );
    if (ac.signal.aborted) return reply.code(499).send();
    metrics.requests.inc({ endpoint: "chat", status: "200" });
    const u = {
      ...usageOf(prompt.length, out.completionTokens, 0),
      completion_tokens_details: { reasoning_tokens: out.reasoningTokens },
    };
    const message = split ? out.message : { role: "assistant", content: out.text, refusal: null };
    return {
      ...base,
      object: "chat.completion",
      choices: [{ index: 0, message, logprobs: null, finish_reason: out.finish_reason }],
      usage: u,
      reasoning: out.reasoning,
    };
  }

  if (r.stream) {
    reply.hijack();
    const sse = new SseWriter(reply.raw);
    const started = new Set<number>();
    const chunk = (index: number, delta: object, logprobs: ChatLogprob[] | null, finish: string | null) =>
      sse.send({
        ...base,
        object: "chat.completion.chunk",
        choices: [{ index, delta, logprobs: logprobs ? { content: logprobs } : null, finish_reason: finish }],
      });
    try {
      await drive(llm, metrics, reply, prompt, opts, (c) => {
        if (!started.has(c.index)) {
          started.add(c.index);
          chunk(c.index, { role: "assistant", content: "" }, null, null);
        }
        if (c.type === "token") {
          const lp = c.logprob ? [chatLogprob(llm, c.logprob, c.top ?? [])] : null;
          const text = tt ? tt.tokenText(c.token, c.text) : c.text; // tool-call markers that are control tokens
          const parts = acct?.push(c.index, c.token, split ? text : "");
          const d = split && parts ? parts : { reasoning: "", content: text };
          if (d.reasoning) chunk(c.index, { reasoning_content: d.reasoning }, null, null);
          if (tt) {
            const ds = tt.push(c.index, d.content);
            if (lp && ds.length === 0) ds.push({ content: "" });
            ds.forEach((delta, k) => chunk(c.index, delta, k === 0 ? lp : null, null));
          } else if (d.content || lp) chunk(c.index, { content: d.content }, lp, null);
        } else {
          const d = split && acct ? acct.finish(c.index, c.text) : { reasoning: "", content: c.text };
          if (d.reasoning) chunk(c.index, { reasoning_content: d.reasoning }, null, null);
          const end = tt ? tt.end(c.index, c.reason === "length" ? "length" : "stop") : undefined;
          for (const delta of tt
            ? [...tt.push(c.index, d.content), ...end!.deltas]
            : d.content
              ? [{ content: d.content }]
              : [])
            chunk(c.index, delta, null, null);
          usage.completion += c.completionTokens;
          usage.cached = Math.max(usage.cached, c.cachedTokens);
          usage.evicted += c.droppedTokens ?? 0;
          chunk(c.index, {}, null, end?.finish_reason ?? (c.reason === "length" ? "length" : "stop"));
        }
      });
      if (r.includeUsage)
        sse.send({
          ...base,
          object: "chat.completion.chunk",
          choices: [],
          usage: {
            ...usageOf(prompt.length, usage.completion, usage.cached, usage.evicted),
            ...acct?.usageDetails(),
            ...(dropped ? { dropped_messages: dropped } : {}),
          },
        });
      sse.end();
      metrics.requests.inc({ endpoint: "chat", status: "200" });
    } catch (e) {
      ctx.streamError(sse, e, "chat");
    }
    return;
  }

  const choices = Array.from({ length: r.n }, (_, index) => ({
    index,
    text: "",
    finish: "stop",
    logprobs: [] as ChatLogprob[],
  }));
  const { aborted } = await drive(llm, metrics, reply, prompt, opts, (c) => {
    const ch = choices[c.index];
    ch.text += tt && c.type === "token" ? tt.tokenText(c.token, c.text) : c.text;
    if (c.type === "token") {
      acct?.push(c.index, c.token, "");
      if (c.logprob) ch.logprobs.push(chatLogprob(llm, c.logprob, c.top ?? []));
    } else {
      ch.finish = c.reason === "length" ? "length" : "stop";
      usage.completion += c.completionTokens;
      usage.cached = Math.max(usage.cached, c.cachedTokens);
      usage.evicted += c.droppedTokens ?? 0;
    }
  });
  if (aborted) return reply.code(499).send();
  metrics.requests.inc({ endpoint: "chat", status: "200" });
  return {
    ...base,
    object: "chat.completion",
    choices: choices.map((c) => {
      const message =
        split && acct
          ? { role: "assistant", ...splitMessage(c.text, acct.opensThinking), refusal: null }
          : { role: "assistant", content: c.text, refusal: null };
      const t = tt?.message(message.content, c.finish); // tool calls parsed from the content
      return {
        index: c.index,
        message: { ...message, ...t?.message },
        logprobs: r.topLogprobs !== undefined ? { content: c.logprobs } : null,
        finish_reason: t?.finish_reason ?? c.finish,
      };
    }),
    usage: {
      ...usageOf(prompt.length, usage.completion, usage.cached, usage.evicted),
      ...acct?.usageDetails(),
      ...(dropped ? { dropped_messages: dropped } : {}),
    },
  };
}
