// Issue 14 finding 3: a caller's regex (reasoning.verifier {type: "regex"}, reasoning.answer_regex,
// `pattern` in a json_schema verifier) used to run on JS RegExp on the main thread; the issue's
// pattern on 230 generated tokens froze every request, /health included. Now RE2 (linear time):
// the requests finish and /health answers within a deadline throughout; patterns RE2 cannot run
// (backreferences, lookaround) are 400 naming the parameter. A real `edgellm serve` child process,
// so a frozen server cannot freeze the test.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel } from "../../src/model/factory/index.js";
import { startServe, type Served } from "../server/serve-process.js";

const EVIL = String.raw`^(?:[\s\S]|[\s\S]|[\s\S]|[\s\S]|[\s\S]|[\s\S]|[\s\S]|[\s\S])*Z`;
const dir = mkdtempSync(join(tmpdir(), "regex-dos-"));
let srv: Served;
before(async () => {
  const path = join(dir, "m.gguf");
  await writeTestModel(path, {
    arch: "llama",
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    nHeadKv: 2,
    nFf: 96,
    nCtx: 512,
    nVocab: 600,
    seed: 3,
  });
  srv = await startServe(path, ["--threads", "1", "--ctx-size", "512", "--model-id", "tiny"]);
});
after(async () => {
  if (srv?.proc.exitCode === null) srv.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const chat = (reasoning: object, signal?: AbortSignal) =>
  fetch(`${srv.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "tiny",
      messages: [{ role: "user", content: "say something" }],
      max_tokens: 230,
      temperature: 1,
      seed: 1,
      ignore_eos: true,
      reasoning,
    }),
    signal,
  });

test("finding 3: the issue's catastrophic pattern runs in linear time; /health answers throughout", async () => {
  const deadline = AbortSignal.timeout(120_000);
  let finished = false;
  const work = Promise.all([
    chat({ strategy: "best_of_n", samples: 2, verifier: { type: "regex", pattern: EVIL } }, deadline),
    chat({ strategy: "self_consistency", samples: 2, answer_regex: EVIL }, deadline),
    chat(
      {
        strategy: "best_of_n",
        samples: 2,
        verifier: { type: "json_schema", schema: { type: "string", pattern: EVIL } },
      },
      deadline,
    ),
  ]).finally(() => (finished = true));
  // /health must answer within 2 s every time while the requests run and are verified.
  let probes = 0;
  while (!finished) {
    const t0 = performance.now();
    const h = await fetch(`${srv.url}/health`, { signal: AbortSignal.timeout(2_000) });
    assert.equal(h.status, 200);
    await h.arrayBuffer();
    assert.ok(performance.now() - t0 < 2_000);
    probes++;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const r of await work) assert.equal(r.status, 200, await r.text());
  assert.ok(probes > 0);
});

test("finding 3: patterns RE2 cannot run are 400 naming the parameter", async () => {
  const cases: [object, string][] = [
    [
      { strategy: "best_of_n", verifier: { type: "regex", pattern: String.raw`(a)\1` } },
      "reasoning.verifier.pattern",
    ],
    [{ strategy: "best_of_n", verifier: { type: "regex", pattern: "(?=a)b" } }, "reasoning.verifier.pattern"],
    [{ strategy: "self_consistency", answer_regex: "(?<!x)y" }, "reasoning.answer_regex"],
    [{ strategy: "self_consistency", answer_regex: "a".repeat(5000) }, "reasoning.answer_regex"],
    [
      {
        strategy: "best_of_n",
        verifier: { type: "json_schema", schema: { type: "string", pattern: String.raw`(x)\1` } },
      },
      "reasoning.verifier.schema",
    ],
  ];
  for (const [reasoning, param] of cases) {
    const r = await chat(reasoning);
    assert.equal(r.status, 400, JSON.stringify(reasoning));
    const e = (await r.json()).error;
    assert.equal(e.param, param);
    assert.equal(e.type, "invalid_request_error");
  }
});
