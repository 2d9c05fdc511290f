/**
 * One routed chat turn for in-process use (`edgellm chat --cloud`): the same policy as the
 * server, driven on an LLM and a ChatSession directly. Yields chunks shaped like the engine's
 * (so the chat loop prints them the same way) and reports the decision through `onDecision`.
 *   cloud plan        -> the cloud's stream (spill falls back to local on failure)
 *   local, no checks  -> the local stream, token by token
 *   local-first       -> complete locally (+ agreement samples), judge, then the local text or
 *                        the cloud's stream; a failed escalation prints the local answer, flagged.
 * The answer joins the session history whichever tier wrote it.
 */
import type { ChatSession, GenerateOptions, GenerationChunk, LLM } from "../engine/llm.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import type { RouteDecision } from "./decision.js";
import { CloudError } from "./errors.js";
import { extractFeatures, type RequestFeatures } from "./features.js";
import type { Router } from "./router.js";
import { meanLogprob, type LocalOutcome } from "./signals.js";
import { agreement } from "../verify/vote.js";
import type { Obj } from "../json.js";

function tokenChunk(text: string): GenerationChunk {
  return { index: 0, type: "token", token: -1, text };
}
function doneChunk(reason: "stop" | "length" | "abort", completionTokens: number): GenerationChunk {
  return {
    index: 0,
    type: "done",
    reason,
    text: "",
    promptTokens: 0,
    completionTokens,
    cachedTokens: 0,
    ttftMs: 0,
    decodeMs: 0,
    seed: 0,
  };
}

async function* cloudText(
  router: Router,
  messages: ChatMessage[],
  gen: GenerateOptions,
  maxTokens: number,
): AsyncGenerator<GenerationChunk> {
  const body: Obj = {
    messages,
    max_tokens: maxTokens,
    temperature: gen.temperature,
    top_p: gen.topP,
    seed: gen.seed,
  };
  const s = await router.cloud!.chatStream(body, { signal: gen.signal, budgetMs: router.cloudBudgetMs(0) });
  let n = 0;
  let finish: "stop" | "length" = "stop";
  for await (const data of s.events) {
    if (data === "[DONE]") break;
    const c = JSON.parse(data) as {
      choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
    };
    const ch = c.choices?.[0];
    if (ch?.delta?.content) {
      n++;
      yield tokenChunk(ch.delta.content);
    }
    if (ch?.finish_reason === "length") finish = "length";
  }
  yield doneChunk(gen.signal?.aborted ? "abort" : finish, n);
}

async function localOutcome(
  llm: LLM,
  router: Router,
  f: RequestFeatures,
  messages: ChatMessage[],
  gen: GenerateOptions,
): Promise<{ outcome: LocalOutcome; reason: "stop" | "length" | "abort"; tokens: number }> {
  const ag = router.policy.escalation.agreement;
  const [main, extra] = await Promise.all([
    llm.complete({ messages }, { ...gen, n: 1, logprobs: 0 }),
    ag
      ? llm.complete(
          { messages },
          { ...gen, n: ag.samples - 1, temperature: ag.temperature, seed: undefined },
        )
      : undefined,
  ]);
  const c = main.choices[0];
  const outcome: LocalOutcome = {
    text: c.text,
    meanLogprob: meanLogprob((c.logprobs ?? []).map((l) => l.token.logprob)),
  };
  if (extra) {
    outcome.agreement = agreement([c.text, ...extra.choices.map((x) => x.text)]).share;
    outcome.agreementSamples = 1 + extra.choices.length;
  }
  outcome.verifiers = await router.verify(f.question, c.text);
  return { outcome, reason: c.finishReason, tokens: c.tokens.length };
}

/** Send `user` in `session` through the router. */
export async function* routedSend(
  session: ChatSession,
  router: Router,
  user: string,
  gen: GenerateOptions & { maxTokens: number },
  onDecision: (d: RouteDecision) => void,
): AsyncGenerator<GenerationChunk> {
  const llm = session.llm;
  const t0 = performance.now();
  session.messages.push({ role: "user", content: user });
  const messages = session.messages.slice();
  const f = extractFeatures({ messages, max_tokens: gen.maxTokens }, {}, (m) => llm.encodeChat(m).length);
  const env = { localContext: llm.contextSize, localWaiting: llm.stats().waiting };
  let answer = "";
  const emit = function* (c: GenerationChunk) {
    answer += c.text;
    yield c;
  };
  const finish = (d: RouteDecision) => {
    router.record(d);
    onDecision(d);
  };
  try {
    const plan = router.plan(f, env);
    if (plan.kind === "reject") {
      finish(plan.decision);
      yield doneChunk("stop", 0);
      return;
    }
    if (plan.kind === "cloud") {
      try {
        for await (const c of cloudText(router, messages, gen, gen.maxTokens)) yield* emit(c);
        finish(plan.decision);
        return;
      } catch (e) {
        const ce = e instanceof CloudError ? e : new CloudError(String(e), "protocol");
        router.metrics.failures.inc({ kind: ce.kind });
        const d = {
          ...plan.decision,
          escalationFailed: true,
          cloudError: `${ce.kind}: ${ce.message.split("\n")[0]}`,
        };
        if (plan.decision.reason !== "local_overloaded" || answer) {
          finish({ ...d, route: answer ? "cloud" : "rejected" });
          yield doneChunk("stop", 0);
          return;
        }
        finish({ ...d, route: "local" });
        for await (const c of llm.generate({ messages }, { ...gen, n: 1 })) yield* emit(c);
        return;
      }
    }
    if (!plan.checks) {
      finish(plan.decision);
      for await (const c of llm.generate({ messages }, { ...gen, n: 1 })) yield* emit(c);
      return;
    }
    const local = await localOutcome(llm, router, f, messages, gen);
    const d = router.judge(f, env, local.outcome, performance.now() - t0);
    if (d.route === "cloud") {
      try {
        for await (const c of cloudText(router, messages, gen, gen.maxTokens)) yield* emit(c);
        finish(d);
        return;
      } catch (e) {
        if (answer) throw e;
        const ce = e instanceof CloudError ? e : new CloudError(String(e), "protocol");
        router.metrics.failures.inc({ kind: ce.kind });
        finish({
          ...d,
          route: "local",
          escalationFailed: true,
          cloudError: `${ce.kind}: ${ce.message.split("\n")[0]}`,
        });
      }
    } else finish(d);
    yield* emit(tokenChunk(local.outcome.text));
    yield doneChunk(local.reason, local.tokens);
  } finally {
    session.messages.push({ role: "assistant", content: answer });
  }
}

/** One line for the terminal: where the answer came from and why. */
export function describeDecision(d: RouteDecision): string {
  const flag = d.escalationFailed ? ` | escalation failed: ${d.cloudError}` : "";
  return `[route: ${d.route} (${d.reason}) ${d.details}${flag}]`;
}
