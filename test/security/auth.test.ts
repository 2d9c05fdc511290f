// Issue 14 findings 2 and 10: the API key is decided on the route fastify matched, never on the
// raw URL (percent-encoded paths and absolute-form request targets used to skip it), /health is
// public and /metrics needs the key (documented choice), unknown paths are 404 with or without a
// key, the wrong method on a known path is 405 with Allow, and non-UTF-8 charsets are 415.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { liveServer, raw, request, type Live } from "./helpers.js";

const KEY = "sekret-key";
let live: Live;
before(async () => {
  live = await liveServer({ apiKey: KEY });
});
after(() => live.close());

const body = JSON.stringify({ model: "tiny", prompt: "hello", max_tokens: 2 });
const json = { "content-type": "application/json" };
const auth = { authorization: `Bearer ${KEY}` };

test("finding 2: encoded and absolute-form targets need the key like the plain path", async () => {
  const cases: [string, string, string | undefined][] = [
    ["GET", "/v1/models", undefined],
    ["GET", "/%761/models", undefined],
    ["GET", "/v1/%6dodels", undefined],
    ["GET", "//v1/models", undefined],
    ["GET", "http://x/v1/models", undefined],
    ["POST", "http://x/v1/completions", body],
    ["POST", "/%76%31/completions", body],
    ["POST", "/v1/completions?x=1", body],
    [
      "POST",
      "/v1/chat/completions",
      JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
    ],
  ];
  for (const [method, target, b] of cases) {
    const r = await raw(live.port, request(method, target, b ? json : {}, b));
    assert.ok(
      r.status === 401 || r.status === 404,
      `${method} ${target} without a key -> ${r.status} ${r.body}`,
    );
    if (r.status === 401) assert.equal(JSON.parse(r.body).error.code, "invalid_api_key");
    const wrong = await raw(
      live.port,
      request(method, target, { ...(b ? json : {}), authorization: "Bearer nope" }, b),
    );
    assert.ok(
      wrong.status === 401 || wrong.status === 404,
      `${method} ${target} wrong key -> ${wrong.status}`,
    );
  }
  // The plain targets themselves work with the key.
  assert.equal((await raw(live.port, request("GET", "/v1/models", auth))).status, 200);
  assert.equal(
    (await raw(live.port, request("POST", "/v1/completions", { ...json, ...auth }, body))).status,
    200,
  );
  // The router's internal header is not a bypass for outside callers.
  const internal = await raw(live.port, request("GET", "/v1/models", { "x-edgellm-internal": "anything" }));
  assert.equal(internal.status, 401);
});

test("finding 10: /health public, /metrics behind the key; unknown paths 404 with or without a key", async () => {
  assert.equal((await raw(live.port, request("GET", "/health"))).status, 200);
  assert.equal((await raw(live.port, request("GET", "/metrics"))).status, 401);
  assert.equal((await raw(live.port, request("GET", "/%6detrics"))).status, 401);
  assert.equal((await raw(live.port, request("GET", "/metrics", auth))).status, 200);
  for (const h of [{}, auth]) {
    const r = await raw(live.port, request("GET", "/v1/nothing-here", h));
    assert.equal(r.status, 404);
    assert.equal(JSON.parse(r.body).error.code, "not_found");
  }
});

test("finding 10: the wrong method on a known path is 405 with Allow (after the key check)", async () => {
  const r = await raw(live.port, request("GET", "/v1/chat/completions", auth));
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, "POST");
  assert.equal(JSON.parse(r.body).error.code, "method_not_allowed");
  assert.equal((await raw(live.port, request("GET", "/v1/chat/completions"))).status, 401);
  const h = await raw(live.port, request("POST", "/health", json, "{}"));
  assert.equal(h.status, 405);
  assert.equal(h.headers.allow, "GET, HEAD");
  assert.equal((await raw(live.port, request("DELETE", "/v1/models", auth))).headers.allow, "GET, HEAD");
});

test("finding 10: a non-UTF-8 charset is 415; utf-8 (any case) and no charset are read", async () => {
  const utf16 = Buffer.from("\ufeff" + body, "utf16le");
  const r = await raw(
    live.port,
    request(
      "POST",
      "/v1/completions",
      { "content-type": "application/json; charset=utf-16", ...auth },
      utf16,
    ),
  );
  assert.equal(r.status, 415, r.body);
  assert.equal(JSON.parse(r.body).error.code, "unsupported_media_type");
  const l1 = await raw(
    live.port,
    request("POST", "/v1/completions", { "content-type": "application/json; charset=latin1", ...auth }, body),
  );
  assert.equal(l1.status, 415);
  for (const ct of ["application/json; charset=UTF-8", "application/json;charset=utf8", "application/json"]) {
    const ok = await raw(
      live.port,
      request("POST", "/v1/completions", { "content-type": ct, ...auth }, body),
    );
    assert.equal(ok.status, 200, `${ct}: ${ok.body}`);
  }
});
