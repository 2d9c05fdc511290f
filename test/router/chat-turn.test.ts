// routedSend (the in-process routing of `edgellm chat --cloud`) on a ChatSession of a local LLM,
// with a real `edgellm serve` child as the cloud: escalation by the arithmetic verifier streams
// the cloud's answer (== the cloud's own answer at temperature 0) into the history, chitchat stays
// local, an overflowing history goes to the cloud, local_only stays, a dead cloud falls back.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRouter, parsePolicy, type RouteDecision } from "../../src/router/index.js";
import { routedSend } from "../../src/router/chat-turn.js";
import { startFaultServer } from "./fault-server.js";
import { CLOUD_MODEL, setup, type Fixture } from "./harness.js";

let fx: Fixture;
before(async () => {
  fx = await setup();
});
after(async () => {
  await fx?.close();
});

const gen = { maxTokens: 5, temperature: 0 };
async function turn(send: AsyncGenerator<{ type: string; text: string }>): Promise<string> {
  let text = "";
  for await (const c of send) text += c.text;
  return text;
}

test("routedSend: verifier escalation streams the cloud answer into the history; chitchat stays local", async () => {
  const router = createRouter(parsePolicy({ escalation: { verifiers: [{ type: "arithmetic" }] } }), {
    url: `${fx.cloud.url}/v1`,
    model: CLOUD_MODEL,
  });
  const session = fx.llm.createSession();
  const ds: RouteDecision[] = [];
  const a = await turn(routedSend(session, router, "What is 19 * 3?", gen, (d) => ds.push(d)));
  assert.deepEqual([ds[0].route, ds[0].reason], ["cloud", "verifier_rejected"]);
  const direct = await (
    await fetch(`${fx.cloud.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: CLOUD_MODEL,
        messages: [{ role: "user", content: "What is 19 * 3?" }],
        max_tokens: 5,
        temperature: 0,
      }),
    })
  ).json();
  assert.equal(a, direct.choices[0].message.content);
  assert.deepEqual(session.messages.at(-1), { role: "assistant", content: a });
  const b = await turn(routedSend(session, router, "nice weather", gen, (d) => ds.push(d)));
  assert.deepEqual([ds[1].route, ds[1].reason], ["local", "local_default"]);
  assert.equal(session.messages.length, 4);
  assert.equal(session.messages[3].content, b);
});

test("routedSend: an overflowing history goes to the cloud; local_only never does; a dead cloud falls back", async () => {
  const router = createRouter(parsePolicy({ escalation: { minMeanLogprob: -0.0001 } }), {
    url: `${fx.cloud.url}/v1`,
    model: CLOUD_MODEL,
  });
  const ds: RouteDecision[] = [];
  const s1 = fx.llm.createSession(Array.from({ length: 150 }, (_, i) => `rule${i}`).join(" "));
  await turn(routedSend(s1, router, "hi", gen, (d) => ds.push(d)));
  assert.equal(ds[0].reason, "context_overflow");
  const lo = createRouter(parsePolicy({ privacy: "local_only", escalation: { minMeanLogprob: -0.0001 } }), {
    url: `${fx.cloud.url}/v1`,
    model: CLOUD_MODEL,
  });
  await turn(routedSend(fx.llm.createSession(), lo, "hi", gen, (d) => ds.push(d)));
  assert.deepEqual([ds[1].route, ds[1].reason], ["local", "local_only"]);
  const f = await startFaultServer([]);
  await f.close();
  const dead = createRouter(
    parsePolicy({ escalation: { minMeanLogprob: -0.0001 }, cloud: { maxRetries: 0 } }),
    { url: f.url, model: CLOUD_MODEL },
  );
  const s3 = fx.llm.createSession();
  const text = await turn(routedSend(s3, dead, "hi", gen, (d) => ds.push(d)));
  assert.deepEqual([ds[2].route, ds[2].escalationFailed], ["local", true]);
  assert.match(ds[2].cloudError!, /^unreachable/);
  assert.ok(text.length > 0);
  assert.equal(s3.messages.at(-1)!.content, text);
});
