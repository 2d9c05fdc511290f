/**
 * Local-first answering for the server: runs the request on the local model through the
 * server's own /v1/chat/completions handler (fastify inject, so validation, limits and metrics
 * are the server's), non-streaming and with token logprobs; with an agreement check it draws the
 * extra samples concurrently at the policy's temperature. Returns the local chat.completion and
 * the measured signals as a LocalOutcome.
 */
import type { FastifyInstance } from "fastify";
import type { RequestFeatures } from "./features.js";
import { choiceLogprobs, choiceText } from "./openai-shapes.js";
import type { Router } from "./router.js";
import { meanLogprob, type LocalOutcome } from "./signals.js";
import { agreement } from "../verify/vote.js";

type Obj = Record<string, unknown>;

export interface LocalResult {
  status: number;
  body: Obj;
  outcome?: LocalOutcome;
}

/**
 * @param checks false: just the client's request, non-streaming (spill fallback); no signals.
 */
export async function answerLocally(
  app: FastifyInstance,
  router: Router,
  body: Obj,
  f: RequestFeatures,
  headers: Record<string, string>,
  checks = true,
): Promise<LocalResult> {
  const { stream: _s, stream_options: _so, privacy: _p, ...rest } = body;
  if (!checks) {
    const r = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { ...headers, "content-type": "application/json" },
      payload: JSON.stringify({ ...rest, stream: false }),
    });
    return { status: r.statusCode, body: parseBody(r.body) };
  }
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
  const call = (payload: Obj) =>
    app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { ...headers, "content-type": "application/json" },
      payload: JSON.stringify(payload),
    });
  const [main, extra] = await Promise.all([
    call(primary),
    ag ? call({ ...primary, n: ag.samples - 1, temperature: ag.temperature, seed: undefined }) : undefined,
  ]);
  const parsed = parseBody(main.body);
  if (main.statusCode !== 200) return { status: main.statusCode, body: parsed };

  const text = choiceText(parsed);
  const outcome: LocalOutcome = { text, meanLogprob: meanLogprob(choiceLogprobs(parsed)) };
  if (ag && extra && extra.statusCode === 200) {
    const eb = JSON.parse(extra.body) as Obj;
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

function parseBody(text: string): Obj {
  try {
    return JSON.parse(text) as Obj;
  } catch {
    return { error: { message: text.slice(0, 200), type: "server_error", param: null, code: null } };
  }
}
