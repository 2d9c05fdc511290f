// `edgellm serve --parallel 1 --max-queue 1`: one request runs, one may wait, the next gets an
// OpenAI-style 429 (the openai client sees status 429), and once the queue drains requests are
// admitted again. --max-queue 0 refuses any request that cannot start at once; a bad value exits 1.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeTestModel } from "../../src/model/factory/index.js";
import { readSse, startServe } from "./serve-process.js";

const dir = mkdtempSync(join(tmpdir(), "serve-queue-"));
const path = join(dir, "m.gguf");
await writeTestModel(path, {
  arch: "llama",
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 4096,
  nVocab: 600,
  seed: 9,
});
// Long streams (up to 4000 tokens) stay running until the test disconnects them.
after(() => rmSync(dir, { recursive: true, force: true }));

const body = (maxTokens: number, stream: boolean) =>
  JSON.stringify({
    model: "q",
    messages: [{ role: "user", content: "count" }],
    max_tokens: maxTokens,
    temperature: 0,
    stream,
    ignore_eos: true,
  });

async function health(url: string): Promise<{ running: number; waiting: number }> {
  return (await fetch(`${url}/health`)).json();
}

async function until(url: string, ok: (h: { running: number; waiting: number }) => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (ok(await health(url))) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`server never reached the expected state: ${JSON.stringify(await health(url))}`);
}

test(
  "--max-queue 1: running + one waiting, then 429 with an OpenAI error body, then admitted again",
  { timeout: 60_000 },
  async () => {
    const srv = await startServe(path, [
      "--parallel",
      "1",
      "--max-queue",
      "1",
      "--ctx-size",
      "4096",
      "--threads",
      "1",
      "--model-id",
      "q",
    ]);
    after(() => srv.stop());
    const post = (b: string, signal?: AbortSignal) =>
      fetch(`${srv.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: b,
        signal,
      });
    // Two long streams: the first runs, the second waits for the only slot.
    const acs = [new AbortController(), new AbortController()];
    // (A stream's response headers come with its first token, so the waiting one is not awaited.)
    const r1 = await post(body(4000, true), acs[0].signal);
    assert.equal(r1.status, 200);
    const r2 = post(body(4000, true), acs[1].signal);
    await until(srv.url, (h) => h.running === 1 && h.waiting === 1);

    const r3 = await post(body(4, false));
    assert.equal(r3.status, 429);
    const e = await r3.json();
    assert.equal(e.error.type, "rate_limit_error");
    assert.equal(e.error.code, "rate_limit_exceeded");
    assert.match(e.error.message, /1 running, 1 waiting \(queue limit 1\)/);
    const client = new OpenAI({ apiKey: "none", baseURL: `${srv.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({
        model: "q",
        messages: [{ role: "user", content: "x" }],
        max_tokens: 2,
      }),
      (err: { status?: number }) => err.status === 429,
    );

    // Disconnect both streams: the queue empties and a request is served again.
    for (const ac of acs) ac.abort();
    await Promise.allSettled([readSse(r1), r2.then(readSse)]);
    await until(srv.url, (h) => h.running === 0 && h.waiting === 0);
    const r4 = await post(body(3, false));
    assert.equal(r4.status, 200);
    assert.equal((await r4.json()).usage.completion_tokens, 3);
    assert.equal(await srv.stop(), 0);
  },
);

test(
  "--max-queue 0 refuses only what cannot start at once; a negative value exits 1 before loading",
  { timeout: 60_000 },
  async () => {
    const srv = await startServe(path, [
      "--parallel",
      "1",
      "--max-queue",
      "0",
      "--ctx-size",
      "4096",
      "--threads",
      "1",
      "--model-id",
      "q",
    ]);
    after(() => srv.stop());
    const post = (b: string, signal?: AbortSignal) =>
      fetch(`${srv.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: b,
        signal,
      });
    assert.equal((await post(body(2, false))).status, 200, "a free slot admits the request");
    const ac = new AbortController();
    const r1 = await post(body(4000, true), ac.signal);
    await until(srv.url, (h) => h.running === 1);
    assert.equal((await post(body(2, false))).status, 429);
    ac.abort();
    await readSse(r1).catch(() => {});
    assert.equal(await srv.stop(), 0);

    const main = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
    const bad = spawn(process.execPath, [main, "serve", "-m", path, "--max-queue", "-2"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    bad.stderr.on("data", (d) => (err += d));
    const code = await new Promise((r) => bad.on("close", r));
    assert.equal(code, 1);
    assert.match(err, /--max-queue must be a non-negative integer/);
  },
);
