/**
 * Local-first answering for the routed chat route: runs the request on the local model through
 * the route's own local handler (called in-process, so validation, limits and metrics are the
 * server's; the answer comes back as an object, not re-parsed JSON), non-streaming and with token
 * logprobs; with an agreement check it draws the extra samples concurrently at the policy's
 * temperature. Returns the local chat.completion and the measured signals as a LocalOutcome.
 */
import type { FastifyReply } from "fastify";
import type { RequestFeatures } from "../../router/features.js";
import type { Router } from "../../router/router.js";
import { meanLogprob, type LocalOutcome } from "../../router/signals.js";
import { agreement } from "../../verify/vote.js";
import type { LocalChat, ServerContext } from "../context.js";
import { toApiError } from "../openai/errors.js";
import { choiceLogprobs, choiceText } from "./shapes.js";
import type { Obj } from "../../json.js";

export interface LocalResult {
  status: number;
  body: Obj;
  outcome?: LocalOutcome;
}

/**
 * @param checks false: just the client's request, non-streaming (spill fallback); no signals.
 */
export async function answerLocally(
  ctx: ServerContext,
  local: LocalChat,
  reply: FastifyReply,
  router: Router,
  body: Obj,
  f: RequestFeatures,
  checks = true,
): Promise<LocalResult> {
  const { stream: _s, stream_options: _so, privacy: _p, ...rest } = body;
  const call = (payload: Obj) => run(ctx, local, reply, payload);
  if (!checks) return call({ ...rest, stream: false });
  const wantLogprobs = body.logprobs === true;
  const primary: Obj = {
    ...rest,
    stream: false,
    n: 1,
    logprobs: true,
    top_logprobs: wantLogprobs ? body.top_logprobs : undefined,
  };
  // A client-chosen reasoning strategy (src/reasoning: self_consistency, best_of_n) measures
  // agreement / verifier scores itself and reports them in `reasoning`: use those, draw nothing extra.
  const strategy = (body.reasoning as Obj | undefined)?.strategy;
  const byStrategy = typeof strategy === "string" && strategy !== "greedy";
  const ag = byStrategy ? undefined : router.policy.escalation.agreement;
  const [main, extra] = await Promise.all([
    call(primary),
    ag ? call({ ...primary, n: ag.samples - 1, temperature: ag.temperature, seed: undefined }) : undefined,
  ]);
  const parsed = main.body;
  if (main.status !== 200) return main;

  const text = choiceText(parsed);
  const outcome: LocalOutcome = { text, meanLogprob: meanLogprob(choiceLogprobs(parsed)) };
  if (ag && extra && extra.status === 200) {
    const eb = extra.body;
    const answers = [text, ...((eb.choices as Obj[]) ?? []).map((_c, i) => choiceText(eb, i))];
    outcome.agreement = agreement(answers).share;
    outcome.agreementSamples = answers.length;
  }
  const rs = parsed.reasoning as Obj | undefined;
  if (typeof rs?.agreement === "number") {
    outcome.agreement = rs.agreement;
    if (typeof rs.samples_used === "number") outcome.agreementSamples = rs.samples_used;
  }
  if (Array.isArray(rs?.scores)) {
    const scores = rs.scores.filter((x): x is number => typeof x === "number");
    if (scores.length > 0) outcome.verifierScore = Math.max(...scores);
  }
  outcome.verifiers = await router.verify(f.question, text);
  // The client did not ask for logprobs: drop the ones we requested for the check.
  if (!wantLogprobs) for (const c of (parsed.choices as Obj[]) ?? []) c.logprobs = null;
  return { status: 200, body: parsed, outcome };
}

/** One local, non-streaming answer: the handler's chat.completion, or its error as an OpenAI body. */
async function run(
  ctx: ServerContext,
  local: LocalChat,
  reply: FastifyReply,
  payload: Obj,
): Promise<LocalResult> {
  try {
    const out = await local(payload, reply);
    if (out === reply || typeof out !== "object" || out === null) {
      // the client went away while the answer was generated (the handler answered 499)
      const gone = { message: "client closed the request", type: "server_error", param: null, code: null };
      return { status: 499, body: { error: gone } };
    }
    return { status: 200, body: out as Obj };
  } catch (e) {
    const err = toApiError(e);
    ctx.metrics.requests.inc({ endpoint: "error", status: String(err.status) });
    return { status: err.status, body: err.body() };
  }
}
