/** POST /v1/completions: the legacy text-completion endpoint (string or token-id prompt). */
import type { FastifyInstance } from "fastify";
import type { GenerateOptions } from "../../engine/llm.js";
import type { TokenLogprob } from "../../sampling/logprobs.js";
import { drive, newId } from "../drive.js";
import { SseWriter } from "../sse.js";
import { validateCompletion } from "../openai/validate.js";
import type { ServerContext } from "../context.js";
import { genOptions, tokenPiece, usageOf } from "../generation.js";

interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

export function registerCompletions(app: FastifyInstance, ctx: ServerContext): void {
  app.post("/v1/completions", async (request, reply) => {
    const { llm, metrics } = ctx;
    const r = validateCompletion(request.body, ctx.models);
    const ids = typeof r.prompt === "string" ? llm.encode(r.prompt) : r.prompt;
    const prompt = ctx.admit(ids, r.n);
    const opts: GenerateOptions = { ...genOptions(r, prompt, llm), logprobs: r.logprobs };
    const base = {
      id: newId("cmpl"),
      created: Math.floor(Date.now() / 1000),
      model: r.model,
      system_fingerprint: "edgellm",
    };
    const usage = { completion: 0, cached: 0, evicted: 0 };
    const offsets = new Map<number, number>();
    const legacy = (index: number, t: TokenLogprob, top: TokenLogprob[], text: string): LegacyLogprobs => {
      const off = offsets.get(index) ?? 0;
      offsets.set(index, off + text.length);
      const tops: Record<string, number> = {};
      for (const x of top) tops[tokenPiece(llm, x.id).token] = x.logprob;
      return {
        tokens: [tokenPiece(llm, t.id).token],
        token_logprobs: [t.logprob],
        top_logprobs: [tops],
        text_offset: [off],
      };
    };

    if (r.stream) {
      reply.hijack();
      const sse = new SseWriter(reply.raw);
      const send = (index: number, text: string, logprobs: LegacyLogprobs | null, finish: string | null) =>
        sse.send({
          ...base,
          object: "text_completion",
          choices: [{ index, text, logprobs, finish_reason: finish }],
        });
      try {
        await drive(llm, metrics, reply, prompt, opts, (c) => {
          if (c.type === "token") {
            const lp = c.logprob ? legacy(c.index, c.logprob, c.top ?? [], c.text) : null;
            if (c.text || lp) send(c.index, c.text, lp, null);
          } else {
            usage.completion += c.completionTokens;
            usage.cached = Math.max(usage.cached, c.cachedTokens);
            usage.evicted += c.droppedTokens ?? 0;
            send(c.index, c.text, null, c.reason === "length" ? "length" : "stop");
          }
        });
        if (r.includeUsage)
          sse.send({
            ...base,
            object: "text_completion",
            choices: [],
            usage: usageOf(prompt.length, usage.completion, usage.cached, usage.evicted),
          });
        sse.end();
        metrics.requests.inc({ endpoint: "completions", status: "200" });
      } catch (e) {
        ctx.streamError(sse, e, "completions");
      }
      return;
    }

    const choices = Array.from({ length: r.n }, (_, index) => ({
      index,
      text: "",
      finish: "stop",
      lp: { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] } as LegacyLogprobs,
    }));
    const { aborted } = await drive(llm, metrics, reply, prompt, opts, (c) => {
      const ch = choices[c.index];
      if (c.type === "token" && c.logprob) {
        const l = legacy(c.index, c.logprob, c.top ?? [], c.text);
        ch.lp.tokens.push(...l.tokens);
        ch.lp.token_logprobs.push(...l.token_logprobs);
        ch.lp.top_logprobs.push(...l.top_logprobs);
        ch.lp.text_offset.push(...l.text_offset);
      }
      ch.text += c.text;
      if (c.type === "done") {
        ch.finish = c.reason === "length" ? "length" : "stop";
        usage.completion += c.completionTokens;
        usage.cached = Math.max(usage.cached, c.cachedTokens);
        usage.evicted += c.droppedTokens ?? 0;
      }
    });
    if (aborted) return reply.code(499).send();
    metrics.requests.inc({ endpoint: "completions", status: "200" });
    return {
      ...base,
      object: "text_completion",
      choices: choices.map((c) => ({
        index: c.index,
        text: c.text,
        logprobs: r.logprobs !== undefined ? c.lp : null,
        finish_reason: c.finish,
      })),
      usage: usageOf(prompt.length, usage.completion, usage.cached, usage.evicted),
    };
  });
}
