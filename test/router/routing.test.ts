// Routing end to end: a real `edgellm serve` child process is the cloud; the local server runs
// in-process with the router hook. Covers each hard rule, escalation on a verifier, on low
// agreement and on low mean logprob, local_only never reaching the cloud (checked with the
// cloud's own request counter), streaming through the router, and the route metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readSse } from "../server/serve-process.js";
import { createRouter, parsePolicy, type RouteDecision } from "../../src/router/index.js";
import type { Verifier } from "../../src/verify/verifier.js";
import { routedSend } from "../../src/router/chat-turn.js";
import { startFaultServer } from "./fault-server.js";
import { chat, cloudRequests, CLOUD_MODEL, LOCAL_MODEL, metric, routerFixture, user } from "./harness.js";

const rf = routerFixture();
const local = (policy: unknown, cloud?: string, apiKey?: string, verifiers?: Verifier[]) =>
  rf.local(policy, cloud, apiKey, verifiers);
const long = (words: number) => Array.from({ length: words }, (_, i) => `word${i % 50}`).join(" ");

test("no checks configured: served locally, route in headers and body, cloud untouched", async () => {
  const l = await local({});
  const before = await cloudRequests(rf.fx.cloud.url);
  const r = await chat(l.url, { messages: user("hello there") });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("x-edgellm-route"), "local");
  assert.equal(r.headers.get("x-edgellm-route-reason"), "local_default");
  const j = await r.json();
  assert.equal(j.model, LOCAL_MODEL);
  assert.deepEqual([j.route.target, j.route.reason], ["local", "local_default"]);
  assert.equal(await cloudRequests(rf.fx.cloud.url), before);
  assert.equal(await metric(l.url, 'edgellm_route_requests_total{route="local",reason="local_default"}'), 1);
});

test("context overflow goes to the cloud (prompt + max_tokens > local context); cloud answer is the cloud's own", async () => {
  const l = await local({});
  const messages = user(long(150));
  const before = await cloudRequests(rf.fx.cloud.url);
  const r = await chat(l.url, { messages, max_tokens: 6 });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("x-edgellm-route"), "cloud");
  const j = await r.json();
  assert.equal(j.model, CLOUD_MODEL);
  assert.equal(j.route.reason, "context_overflow");
  assert.match(j.route.details, /> local context 128/);
  assert.equal(await cloudRequests(rf.fx.cloud.url), before + 1);
  // Same request straight to the cloud at temperature 0: identical text.
  const direct = await (
    await fetch(`${rf.fx.cloud.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: CLOUD_MODEL, messages, max_tokens: 6, temperature: 0 }),
    })
  ).json();
  assert.equal(j.choices[0].message.content, direct.choices[0].message.content);
  // A short prompt whose max_tokens alone overflows also goes to the cloud.
  const r2 = await chat(l.url, { messages: user("hi"), max_tokens: 200 });
  assert.equal(r2.headers.get("x-edgellm-route-reason"), "context_overflow");
});

test("capabilities: tools go to the cloud; images go to the cloud (a text-only cloud refuses them: its 400 is passed on)", async () => {
  const l = await local({});
  const r = await chat(l.url, {
    messages: user("weather?"),
    tools: [{ type: "function", function: { name: "weather", parameters: { type: "object" } } }],
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("x-edgellm-route-reason"), "needs_tools");
  assert.equal((await r.json()).model, CLOUD_MODEL);
  const img = await chat(l.url, {
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "what is this" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
        ],
      },
    ],
  });
  assert.equal(img.headers.get("x-edgellm-route"), "cloud");
  assert.equal(img.headers.get("x-edgellm-route-reason"), "needs_images");
  assert.equal(img.status, 400);
  const e = await img.json();
  assert.match(e.error.message, /cloud answered HTTP 400/);
  assert.equal(e.route.reason, "needs_images");
});

const alwaysEscalate = { escalation: { minMeanLogprob: -0.0001 } };

test("escalation on verifier rejection: a wrong sum goes to the cloud; a question without arithmetic stays local", async () => {
  const l = await local({ escalation: { verifiers: [{ type: "arithmetic" }] } });
  const r = await chat(l.url, { messages: user("What is 17 + 25?") });
  const j = await r.json();
  assert.equal(j.route.target, "cloud", JSON.stringify(j.route));
  assert.equal(j.route.reason, "verifier_rejected");
  assert.match(j.route.details, /17 \+ 25 = 42; answer says/);
  assert.equal(j.model, CLOUD_MODEL);
  const chit = await (await chat(l.url, { messages: user("how are you today") })).json();
  assert.deepEqual([chit.route.target, chit.route.reason], ["local", "local_default"]);
  assert.equal(chit.route.signals.verifiers[0].accepted, undefined);
});

test("escalation on low self-consistency agreement; a low threshold keeps it local", async () => {
  const hi = await local({ escalation: { agreement: { samples: 4, threshold: 0.9, temperature: 1.5 } } });
  const j = await (await chat(hi.url, { messages: user("tell me something"), max_tokens: 8 })).json();
  assert.equal(j.route.reason, "low_agreement", JSON.stringify(j.route));
  assert.ok(j.route.signals.agreement < 0.9);
  const lo = await local({ escalation: { agreement: { samples: 4, threshold: 0.25, temperature: 1.5 } } });
  const k = await (await chat(lo.url, { messages: user("tell me something"), max_tokens: 8 })).json();
  assert.deepEqual([k.route.target, k.route.reason], ["local", "local_default"]);
  assert.ok(k.route.signals.agreement >= 0.25);
});

test("escalation on low mean logprob; the measured value is reported and matches the local logprobs", async () => {
  const lo = await local({ escalation: { minMeanLogprob: -1e5 } });
  const a = await (await chat(lo.url, { messages: user("say something"), logprobs: true })).json();
  assert.equal(a.route.target, "local");
  const lps = a.choices[0].logprobs.content.map((t: { logprob: number }) => t.logprob);
  const mean = lps.reduce((s: number, x: number) => s + x, 0) / lps.length;
  assert.ok(Math.abs(a.route.signals.meanLogprob - mean) < 1e-9);
  const noLp = await (await chat(lo.url, { messages: user("say something") })).json();
  assert.equal(noLp.choices[0].logprobs, null, "logprobs requested for the check are not leaked");
  const hi = await local({ escalation: { minMeanLogprob: Math.min(-1e-6, mean + 1e-3) } });
  const b = await (await chat(hi.url, { messages: user("say something") })).json();
  assert.deepEqual([b.route.target, b.route.reason], ["cloud", "low_logprob"]);
});

test("local_only (header, body field, or policy) never reaches the cloud, even when checks fail or the request overflows", async () => {
  const l = await local(alwaysEscalate);
  const before = await cloudRequests(rf.fx.cloud.url);
  const a = await chat(l.url, { messages: user("What is 2+2?") }, { "x-edgellm-privacy": "local_only" });
  assert.equal(a.headers.get("x-edgellm-route"), "local");
  assert.equal((await a.json()).route.reason, "local_only");
  const b = await chat(l.url, { messages: user("secret"), privacy: "local_only", stream: true });
  assert.equal(b.headers.get("x-edgellm-route-reason"), "local_only");
  const ev = await readSse(b);
  assert.equal(ev.at(-1), "[DONE]");
  const c = await chat(l.url, { messages: user(long(150)) }, { "x-edgellm-privacy": "local_only" });
  assert.equal(c.status, 400);
  assert.equal(c.headers.get("x-edgellm-route"), "rejected");
  assert.match((await c.json()).error.message, /privacy is local_only/);
  const bad = await chat(l.url, { messages: user("x") }, { "x-edgellm-privacy": "whatever" });
  assert.equal(bad.status, 400);
  const pol = await local({ ...alwaysEscalate, privacy: "local_only" });
  const d = await chat(pol.url, { messages: user("hi"), privacy: "cloud_ok" });
  assert.equal(d.headers.get("x-edgellm-route-reason"), "local_only");
  assert.equal(await cloudRequests(rf.fx.cloud.url), before, "the cloud saw none of these");
});

test("streaming through the router: cloud SSE passed through chunk by chunk (== cloud JSON), checked local answers re-streamed", async () => {
  const l = await local({});
  const messages = user(long(150));
  const s = await chat(l.url, { messages, stream: true, stream_options: { include_usage: true } });
  assert.equal(s.headers.get("content-type")?.startsWith("text/event-stream"), true);
  assert.equal(s.headers.get("x-edgellm-route"), "cloud");
  const events = await readSse(s);
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.ok(chunks.length >= 3, "token chunks, not one blob");
  assert.ok(chunks.every((c) => c.route?.reason === "context_overflow" && c.model === CLOUD_MODEL));
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  assert.equal(chunks.at(-1).usage.completion_tokens, 6);
  const json = await (await chat(l.url, { messages })).json();
  assert.equal(text, json.choices[0].message.content);

  const chk = await local({ escalation: { minMeanLogprob: -1e5 } });
  const s2 = await chat(chk.url, { messages: user("hello"), stream: true });
  assert.equal(s2.headers.get("x-edgellm-route-reason"), "local_default");
  const ev2 = (await readSse(s2)).slice(0, -1).map((e) => JSON.parse(e));
  const j2 = await (await chat(chk.url, { messages: user("hello") })).json();
  assert.equal(ev2.map((c) => c.choices[0]?.delta?.content ?? "").join(""), j2.choices[0].message.content);
  assert.equal(ev2.at(-1).choices[0].finish_reason, j2.choices[0].finish_reason);

  const esc = await local(alwaysEscalate);
  const s3 = await chat(esc.url, { messages: user("hello"), stream: true });
  assert.equal(s3.headers.get("x-edgellm-route"), "cloud");
  const ev3 = (await readSse(s3)).slice(0, -1).map((e) => JSON.parse(e));
  assert.ok(ev3.every((c) => c.model === CLOUD_MODEL && c.route.reason === "low_logprob"));
});

test("spill: local queue at the threshold goes to the cloud", async () => {
  const l = await local({ spill: { maxWaiting: 0 } });
  const r = await chat(l.url, { messages: user("hi") });
  assert.equal(r.headers.get("x-edgellm-route-reason"), "local_overloaded");
  assert.equal((await r.json()).model, CLOUD_MODEL);
});

test("metrics: route counters per route and reason, cost estimate, escalation failures", async () => {
  const l = await local({
    ...alwaysEscalate,
    prices: { [CLOUD_MODEL]: { inputPerMTok: 1000, outputPerMTok: 2000 } },
  });
  for (let i = 0; i < 2; i++) await (await chat(l.url, { messages: user("q" + i) })).json();
  await (await chat(l.url, { messages: user("q"), privacy: "local_only" })).json();
  assert.equal(await metric(l.url, 'edgellm_route_requests_total{route="cloud",reason="low_logprob"}'), 2);
  assert.equal(await metric(l.url, 'edgellm_route_requests_total{route="local",reason="local_only"}'), 1);
  const cost = await metric(l.url, "edgellm_route_cloud_estimated_cost_usd_total");
  assert.ok(cost > 0, `cost ${cost}`);
  assert.equal(await metric(l.url, "edgellm_route_cloud_request_seconds_count"), 2);
  assert.equal(await metric(l.url, "edgellm_route_cloud_circuit_open"), 0);
  // the server's own metrics are still there
  assert.ok((await metric(l.url, "edgellm_generation_tokens_total")) > 0);
});

test("a client-chosen reasoning strategy's agreement (src/reasoning self_consistency) drives escalation", async () => {
  const l = await local({ escalation: { agreement: { samples: 3, threshold: 0.99 } } });
  const r = await chat(l.url, {
    messages: user("tell me a thing"),
    max_tokens: 6,
    temperature: 1.5,
    seed: 1,
    reasoning: { strategy: "self_consistency", samples: 4, early_stop: false },
  });
  const j = await r.json();
  assert.equal(r.status, 200, JSON.stringify(j));
  assert.equal(j.route.reason, "low_agreement", JSON.stringify(j.route));
  assert.equal(typeof j.route.signals.agreement, "number");
  assert.ok(j.route.signals.agreement < 0.99);
  assert.match(j.route.details, /agreement .* of 4 samples < 0.99/);
});

test("a scoring verifier from src/verify plugs into the router: accepted when score >= 0.5, score kept", async () => {
  const { ArithmeticVerifier } = await import("../../src/verify/arithmetic.js");
  const { Router } = await import("../../src/router/index.js");
  const r = new Router({ verifiers: [new ArithmeticVerifier()] });
  const [good] = await r.verify("What is 6 * 7?", "6 * 7 = 42");
  const [bad] = await r.verify("What is 6 * 7?", "6 * 7 = 41");
  assert.equal(good.accepted, true, good.detail);
  assert.equal(bad.accepted, false, bad.detail);
  assert.ok(good.score! > bad.score!);
});

test("a client that leaves a cloud stream cancels the cloud request (the cloud frees its sequence)", async () => {
  const l = await local({});
  const s = await chat(l.url, { messages: user(long(150)), max_tokens: 400, ignore_eos: true, stream: true });
  assert.equal(s.headers.get("x-edgellm-route"), "cloud");
  await readSse(s, (_d, n) => n >= 3); // read three chunks, then cancel
  let running = -1;
  for (let i = 0; i < 100; i++) {
    running = (await (await fetch(`${rf.fx.cloud.url}/health`)).json()).running;
    if (running === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(running, 0, "the cloud stopped generating for the departed client");
});

test("a local API key is checked before routing and carried into the local-first inner call", async () => {
  const l = await local({ escalation: { minMeanLogprob: -1e5 } }, undefined, "edge-key");
  const no = await chat(l.url, { messages: user("hi") });
  assert.equal(no.status, 401);
  assert.equal(no.headers.get("x-edgellm-route"), null, "refused before any routing");
  const ok = await chat(l.url, { messages: user("hi") }, { authorization: "Bearer edge-key" });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).route.reason, "local_default", "the inner call passed the key check");
});

// routedSend: the in-process routing of `edgellm chat --cloud`, on a ChatSession of the local LLM.
const gen = { maxTokens: 5, temperature: 0 };
async function turn(send: AsyncGenerator<{ type: string; text: string }>): Promise<string> {
  let text = "";
  for await (const c of send) text += c.text;
  return text;
}

test("routedSend: verifier escalation streams the cloud answer into the history; chitchat stays local", async () => {
  const router = createRouter(parsePolicy({ escalation: { verifiers: [{ type: "arithmetic" }] } }), {
    url: `${rf.fx.cloud.url}/v1`,
    model: CLOUD_MODEL,
  });
  const session = rf.fx.llm.createSession();
  const ds: RouteDecision[] = [];
  const a = await turn(routedSend(session, router, "What is 19 * 3?", gen, (d) => ds.push(d)));
  assert.deepEqual([ds[0].route, ds[0].reason], ["cloud", "verifier_rejected"]);
  const direct = await (
    await fetch(`${rf.fx.cloud.url}/v1/chat/completions`, {
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
    url: `${rf.fx.cloud.url}/v1`,
    model: CLOUD_MODEL,
  });
  const ds: RouteDecision[] = [];
  const s1 = rf.fx.llm.createSession(Array.from({ length: 150 }, (_, i) => `rule${i}`).join(" "));
  await turn(routedSend(s1, router, "hi", gen, (d) => ds.push(d)));
  assert.equal(ds[0].reason, "context_overflow");
  const lo = createRouter(parsePolicy({ privacy: "local_only", escalation: { minMeanLogprob: -0.0001 } }), {
    url: `${rf.fx.cloud.url}/v1`,
    model: CLOUD_MODEL,
  });
  await turn(routedSend(rf.fx.llm.createSession(), lo, "hi", gen, (d) => ds.push(d)));
  assert.deepEqual([ds[1].route, ds[1].reason], ["local", "local_only"]);
  const f = await startFaultServer([]);
  await f.close();
  const dead = createRouter(
    parsePolicy({ escalation: { minMeanLogprob: -0.0001 }, cloud: { maxRetries: 0 } }),
    { url: f.url, model: CLOUD_MODEL },
  );
  const s3 = rf.fx.llm.createSession();
  const text = await turn(routedSend(s3, dead, "hi", gen, (d) => ds.push(d)));
  assert.deepEqual([ds[2].route, ds[2].escalationFailed], ["local", true]);
  assert.match(ds[2].cloudError!, /^unreachable/);
  assert.ok(text.length > 0);
  assert.equal(s3.messages.at(-1)!.content, text);
});

test(
  "a programmatic verifier that throws abstains; one that returns garbage gets a 500 answer, not a hang",
  { timeout: 20_000 },
  async () => {
    const throwing: Verifier = {
      name: "boom",
      verify() {
        throw new Error("boom");
      },
    };
    const a = await local({ escalation: { minMeanLogprob: -1e5 } }, undefined, undefined, [throwing]);
    const ja = await (await chat(a.url, { messages: user("hi") })).json();
    assert.equal(ja.route.target, "local");
    assert.match(ja.route.signals.verifiers[0].detail, /verifier failed: boom/);
    const garbage = { name: "garbage", verify: () => null } as unknown as Verifier;
    const b = await local({ escalation: { minMeanLogprob: -1e5 } }, undefined, undefined, [garbage]);
    const rb = await chat(b.url, { messages: user("hi") });
    assert.equal(rb.status, 500);
    const jb = await rb.json();
    assert.equal(jb.error.code, "router_error");
    assert.equal(jb.route.reason, "local_default");
  },
);
