// Failure handling: the cloud down (nothing listening), slow (the real cloud process stopped
// with SIGSTOP), or erroring (a scripted 500/429 injector) -> the local answer is served with
// escalation_failed, in bounded time; requests that only the cloud can serve get 503 with the
// reason; the breaker opens and later calls fail fast; a stream that dies midway ends with an
// error event, never a hang.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readSse } from "../server/serve-process.js";
import { startFaultServer } from "./fault-server.js";
import { chat, cloudRequests, CLOUD_MODEL, LOCAL_MODEL, metric, routerFixture, user } from "./harness.js";

const rf = routerFixture();
const local = (policy: unknown, cloud: string) => rf.local(policy, cloud);
const escalate = (cloud: Record<string, number> = {}) => ({
  escalation: { minMeanLogprob: -0.0001 },
  cloud: { maxRetries: 1, backoffBaseMs: 10, backoffMaxMs: 50, ...cloud },
});
const longPrompt = user(Array.from({ length: 150 }, (_, i) => `w${i}`).join(" "));

async function deadUrl(): Promise<string> {
  const s = await startFaultServer([]);
  await s.close();
  return s.url;
}

test("cloud down: escalation serves the local answer flagged, JSON and stream; hard rule gets 503; breaker then fails fast", async () => {
  const l = await local(escalate({ breakerFailures: 2, breakerCooldownMs: 60_000 }), await deadUrl());
  const r = await chat(l.url, { messages: user("What is 2+2?") });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("x-edgellm-route"), "local");
  assert.equal(r.headers.get("x-edgellm-escalation"), "failed");
  const j = await r.json();
  assert.equal(j.model, LOCAL_MODEL);
  assert.equal(j.route.escalation_failed, true);
  assert.equal(j.route.reason, "low_logprob");
  assert.match(j.route.cloud_error, /^unreachable: /);
  assert.ok(j.choices[0].message.content.length > 0);
  const s = await chat(l.url, { messages: user("What is 2+2?"), stream: true });
  assert.equal(s.headers.get("x-edgellm-escalation"), "failed");
  const ev = await readSse(s);
  assert.equal(ev.at(-1), "[DONE]");
  assert.equal(JSON.parse(ev[1]).route.escalation_failed, true);
  // Two failed calls opened the breaker: the next escalation fails at once with circuit_open.
  const t0 = performance.now();
  const c = await (await chat(l.url, { messages: longPrompt, max_tokens: 4 })).json();
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(c.error.code, "cloud_unavailable");
  assert.match(c.route.cloud_error, /^circuit_open/);
  assert.equal(await metric(l.url, "edgellm_route_cloud_circuit_open"), 1);
  assert.equal(await metric(l.url, 'edgellm_route_escalation_failures_total{kind="unreachable"}'), 2);
  assert.equal(await metric(l.url, 'edgellm_route_escalation_failures_total{kind="circuit_open"}'), 1);
  assert.equal(await metric(l.url, 'edgellm_route_requests_total{route="local",reason="low_logprob"}'), 2);
});

test("cloud slow (real cloud process stopped): escalation times out and serves local; within the latency budget", async () => {
  const l = await local(
    { ...escalate({ timeoutMs: 400, maxRetries: 0 }), budgets: { maxLatencyMs: 20_000 } },
    `${rf.fx.cloud.url}/v1`,
  );
  rf.fx.cloud.proc.kill("SIGSTOP");
  try {
    const t0 = performance.now();
    const r = await chat(l.url, { messages: user("hello") });
    const dt = performance.now() - t0;
    const j = await r.json();
    assert.equal(j.route.target, "local");
    assert.equal(j.route.escalation_failed, true);
    assert.match(j.route.cloud_error, /^timeout: cloud did not answer within 400 ms/);
    assert.ok(dt < 5000, `${dt} ms`);
  } finally {
    rf.fx.cloud.proc.kill("SIGCONT");
  }
  // The cloud is back: the same request escalates. A resumed process first works off what queued
  // while it was stopped, and on a loaded machine that can outlast the 400 ms escalation timeout
  // once or twice, so this asks a few times (each answer is still a valid local or cloud one).
  let ok: { route: { target: string }; model: string } | undefined;
  for (let i = 0; i < 8; i++) {
    ok = await (await chat(l.url, { messages: user("hello") })).json();
    if (ok!.route.target === "cloud") break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.deepEqual([ok!.route.target, ok!.model], ["cloud", CLOUD_MODEL]);
});

test("latency budget spent: no escalation is attempted", async () => {
  const l = await local(
    { escalation: { minMeanLogprob: -0.0001 }, budgets: { maxLatencyMs: 1 } },
    `${rf.fx.cloud.url}/v1`,
  );
  const before = await cloudRequests(rf.fx.cloud.url);
  const j = await (await chat(l.url, { messages: user("hello") })).json();
  assert.deepEqual([j.route.target, j.route.reason], ["local", "latency_budget"]);
  assert.equal(await cloudRequests(rf.fx.cloud.url), before);
});

test("cloud erroring: 500s retried then local served; the cloud gets its own model name", async () => {
  const f = await startFaultServer([], { status: 500, body: { error: { message: "engine crashed" } } });
  try {
    const l = await local(escalate(), f.url);
    const j = await (await chat(l.url, { messages: user("hi") })).json();
    assert.equal(j.route.escalation_failed, true);
    assert.match(j.route.cloud_error, /^http: cloud answered HTTP 500: engine crashed \(after 2 attempts\)/);
    assert.equal(f.received.length, 2);
    assert.equal(f.received[0].model, CLOUD_MODEL, "the cloud gets its own model name");
    assert.equal(f.received[0].stream, false);
  } finally {
    await f.close();
  }
});

test("cloud stream dies midway: the client gets the partial answer, an error event and [DONE]", async () => {
  const chunk = (t: string) =>
    JSON.stringify({
      id: "c",
      object: "chat.completion.chunk",
      model: "x",
      choices: [{ index: 0, delta: { content: t }, finish_reason: null }],
    });
  const f = await startFaultServer([{ sse: [chunk("par"), chunk("tial"), "[DONE]"], stallAfter: 2 }]);
  try {
    const l = await local({ cloud: { streamIdleMs: 300 } }, f.url);
    const t0 = performance.now();
    const s = await chat(l.url, { messages: longPrompt, max_tokens: 4, stream: true });
    const ev = await readSse(s);
    assert.ok(performance.now() - t0 < 3000);
    assert.equal(ev.at(-1), "[DONE]");
    const body = ev.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(
      body
        .slice(0, 2)
        .map((c) => c.choices[0].delta.content)
        .join(""),
      "partial",
    );
    assert.equal(body[2].error.code, "cloud_stream_failed");
  } finally {
    await f.close();
  }
});

test("spill with the cloud down runs locally after all", async () => {
  const l = await local({ spill: { maxWaiting: 0 }, cloud: { maxRetries: 0 } }, await deadUrl());
  const r = await chat(l.url, { messages: user("hi"), n: 2 });
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.equal(j.model, LOCAL_MODEL);
  assert.equal(j.choices.length, 2);
  assert.deepEqual(
    [j.route.target, j.route.reason, j.route.escalation_failed],
    ["local", "local_overloaded", true],
  );
});
