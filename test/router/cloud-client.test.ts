// Cloud client: retries with backoff on 429/5xx (Retry-After honoured), no retry on 4xx,
// per-attempt timeouts on a hanging server, stalled streams, the circuit breaker's
// closed -> open -> half_open -> closed cycle, SSE pass-through and an unreachable port.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CloudClient, normalizeBaseUrl } from "../../src/router/cloud-client.js";
import { CloudError } from "../../src/router/errors.js";
import { CircuitBreaker } from "../../src/router/breaker.js";
import { backoffDelay, nextDelay, parseRetryAfter, isRetryableStatus } from "../../src/router/backoff.js";
import { okCompletion, startFaultServer } from "./fault-server.js";

const body = { model: "local", messages: [{ role: "user", content: "hi" }] };
const fast = { baseMs: 5, maxMs: 50 };

test("backoff: full jitter under an exponential ceiling, Retry-After seconds and dates, caps", () => {
  assert.equal(
    backoffDelay(0, { baseMs: 100, maxMs: 1000 }, () => 0.999),
    99,
  );
  assert.equal(
    backoffDelay(3, { baseMs: 100, maxMs: 1000 }, () => 0.5),
    400,
  );
  assert.equal(
    backoffDelay(20, { baseMs: 100, maxMs: 1000 }, () => 0.5),
    500,
  );
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(parseRetryAfter("0.5"), 500);
  assert.equal(parseRetryAfter(new Date(10_000 + 3000).toUTCString(), 10_000 - (10_000 % 1000)), 3000);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter(null), undefined);
  // Retry-After wins when longer than our backoff; both capped at maxMs.
  assert.equal(
    nextDelay(0, "1", { baseMs: 10, maxMs: 5000 }, () => 0),
    1000,
  );
  assert.equal(
    nextDelay(0, "60", { baseMs: 10, maxMs: 5000 }, () => 0),
    5000,
  );
  assert.deepEqual([429, 408, 500, 502, 503, 501, 400, 404].map(isRetryableStatus), [
    true,
    true,
    true,
    true,
    true,
    false,
    false,
    false,
  ]);
});

test("breaker: opens after the threshold, refuses, admits one trial after the cooldown", () => {
  let now = 0;
  const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000 }, () => now);
  for (let i = 0; i < 2; i++) {
    assert.ok(b.tryAcquire());
    b.onFailure();
  }
  assert.equal(b.state, "closed");
  b.onSuccess(); // a success resets the consecutive count
  for (let i = 0; i < 3; i++) b.onFailure();
  assert.equal(b.state, "open");
  assert.equal(b.tryAcquire(), false);
  assert.equal(b.retryInMs(), 1000);
  now = 1000;
  assert.equal(b.state, "half_open");
  assert.ok(b.tryAcquire());
  assert.equal(b.tryAcquire(), false, "only one trial at a time");
  b.onFailure();
  assert.equal(b.state, "open");
  assert.equal(b.opens, 2);
  now = 2500;
  assert.ok(b.tryAcquire());
  b.onSuccess();
  assert.equal(b.state, "closed");
});

test("normalizeBaseUrl accepts host:port with or without /v1 and rejects junk", () => {
  assert.equal(normalizeBaseUrl("http://127.0.0.1:8000"), "http://127.0.0.1:8000/v1");
  assert.equal(normalizeBaseUrl("http://127.0.0.1:8000/v1/"), "http://127.0.0.1:8000/v1");
  assert.throws(() => normalizeBaseUrl("not a url"), CloudError);
  assert.throws(() => normalizeBaseUrl("ftp://x/"), CloudError);
});

test("503, 503, 200: retried to success; model replaced; API key sent", async () => {
  const s = await startFaultServer([
    { status: 503, body: { error: { message: "busy" } } },
    { status: 503 },
    { status: 200, body: okCompletion("four") },
  ]);
  try {
    const c = new CloudClient({ baseUrl: s.url, model: "big", apiKey: "k1", maxRetries: 2, backoff: fast });
    const r = await c.chat(body);
    assert.equal(r.attempts, 3);
    assert.equal((r.body.choices as { message: { content: string } }[])[0].message.content, "four");
    assert.equal(s.received.length, 3);
    assert.equal(s.received[0].model, "big");
    assert.equal(s.received[0].stream, false);
    assert.equal(s.headers[0].authorization, "Bearer k1");
    assert.equal(c.breaker.state, "closed");
  } finally {
    await s.close();
  }
});

test("429 with Retry-After: waits at least that long before retrying", async () => {
  const s = await startFaultServer([
    { status: 429, headers: { "retry-after": "0.3" }, body: { error: { message: "slow down" } } },
    { status: 200, body: okCompletion("ok") },
  ]);
  try {
    const c = new CloudClient({
      baseUrl: s.url,
      model: "big",
      maxRetries: 1,
      backoff: { baseMs: 1, maxMs: 2000 },
    });
    const t0 = performance.now();
    const r = await c.chat(body);
    assert.ok(performance.now() - t0 >= 290, `waited ${performance.now() - t0} ms`);
    assert.equal(r.attempts, 2);
  } finally {
    await s.close();
  }
});

test("400 is not retried, is the request's fault (breaker stays closed), message carried", async () => {
  const s = await startFaultServer([
    { status: 400, body: { error: { message: "max_tokens is too large" } } },
  ]);
  try {
    const c = new CloudClient({
      baseUrl: s.url,
      model: "big",
      maxRetries: 3,
      backoff: fast,
      breaker: { failureThreshold: 1 },
    });
    await assert.rejects(
      c.chat(body),
      (e: CloudError) =>
        e.kind === "http" &&
        e.status === 400 &&
        e.attempts === 1 &&
        /max_tokens is too large/.test(e.message),
    );
    assert.equal(s.received.length, 1);
    assert.equal(c.breaker.state, "closed");
  } finally {
    await s.close();
  }
});

test("hanging server: each attempt times out, the call fails in bounded time; budget caps retries", async () => {
  const s = await startFaultServer([], { hang: true });
  try {
    const c = new CloudClient({ baseUrl: s.url, model: "big", timeoutMs: 150, maxRetries: 1, backoff: fast });
    const t0 = performance.now();
    await assert.rejects(c.chat(body), (e: CloudError) => e.kind === "timeout" && e.attempts === 2);
    const dt = performance.now() - t0;
    assert.ok(dt >= 290 && dt < 1500, `${dt} ms`);
    const c2 = new CloudClient({
      baseUrl: s.url,
      model: "big",
      timeoutMs: 5000,
      maxRetries: 5,
      backoff: fast,
    });
    const t1 = performance.now();
    await assert.rejects(c2.chat(body, { budgetMs: 200 }), (e: CloudError) => e.kind === "timeout");
    assert.ok(performance.now() - t1 < 1000);
  } finally {
    await s.close();
  }
});

test("unreachable port: kind unreachable; breaker opens and then refuses without a connection", async () => {
  const s = await startFaultServer([]);
  const url = s.url;
  await s.close(); // nothing listens there now
  const c = new CloudClient({
    baseUrl: url,
    model: "big",
    maxRetries: 1,
    backoff: fast,
    breaker: { failureThreshold: 2, cooldownMs: 60_000 },
  });
  await assert.rejects(c.chat(body), (e: CloudError) => e.kind === "unreachable" && e.attempts === 2);
  await assert.rejects(c.chat(body), (e: CloudError) => e.kind === "unreachable");
  assert.equal(c.breaker.state, "open");
  // attempts 0: refused without a connection (how fast: bench/test-speeds.ts)
  await assert.rejects(c.chat(body), (e: CloudError) => e.kind === "circuit_open" && e.attempts === 0);
});

test("half-open trial against a recovered server closes the circuit", async () => {
  let now = 0;
  const s = await startFaultServer([{ status: 502 }, { status: 200, body: okCompletion("back") }]);
  try {
    const c = new CloudClient({
      baseUrl: s.url,
      model: "big",
      maxRetries: 0,
      breaker: { failureThreshold: 1, cooldownMs: 100 },
      now: () => now,
    });
    await assert.rejects(c.chat(body), (e: CloudError) => e.kind === "http" && e.status === 502);
    assert.equal(c.breaker.state, "open");
    await assert.rejects(c.chat(body), (e: CloudError) => e.kind === "circuit_open");
    now = 100;
    const r = await c.chat(body);
    assert.equal(r.status, 200);
    assert.equal(c.breaker.state, "closed");
  } finally {
    await s.close();
  }
});

test("non-JSON 200 is a protocol error", async () => {
  const s = await startFaultServer([{ status: 200, body: { hello: 1 } }]);
  try {
    const c = new CloudClient({ baseUrl: s.url, model: "big", maxRetries: 0 });
    await assert.rejects(c.chat(body), (e: CloudError) => e.kind === "protocol");
  } finally {
    await s.close();
  }
});

test("stream: retried 503 then SSE events passed through in order; a stalled stream fails", async () => {
  const chunks = [
    '{"choices":[{"index":0,"delta":{"content":"a"}}]}',
    '{"choices":[{"index":0,"delta":{"content":"b"}}]}',
    "[DONE]",
  ];
  const s = await startFaultServer([
    { status: 503 },
    { sse: chunks, gapMs: 5 },
    { sse: chunks, stallAfter: 1 },
  ]);
  try {
    const c = new CloudClient({
      baseUrl: s.url,
      model: "big",
      maxRetries: 1,
      backoff: fast,
      streamIdleMs: 200,
    });
    const st = await c.chatStream(body);
    assert.equal(st.attempts, 2);
    const got: string[] = [];
    for await (const e of st.events) got.push(e);
    assert.deepEqual(got, chunks);
    assert.equal(s.received[1].stream, true);
    const st2 = await c.chatStream(body);
    const got2: string[] = [];
    const t0 = performance.now();
    await assert.rejects(
      (async () => {
        for await (const e of st2.events) got2.push(e);
      })(),
      (e: CloudError) => e.kind === "timeout",
    );
    assert.deepEqual(got2, chunks.slice(0, 1));
    assert.ok(performance.now() - t0 < 1500);
  } finally {
    await s.close();
  }
});
