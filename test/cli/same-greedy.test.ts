// One forward path, seen from outside: on one machine, `run`, `chat`, `serve` and `bench` give the
// same greedy tokens for the same prompt (the acceptance check). Real child processes of
// the CLI on the embedded default model with the WASM kernels:
//  - token level: `bench --side ours` (engine + paged pool) and `run --tokens` (Transformer.forward)
//    on bench's prompt ids, and the library engine (LLM.generate, what serve and chat call);
//  - text level: `run "<message>"`, `chat` (stdin) and `serve` (/v1/chat/completions, temperature 0)
//    answer the same message with the same text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadLLM } from "../../src/engine/llm.js";
import { promptIds } from "../../src/cli/bench/workload.js";
import { startServe } from "../server/serve-process.js";
import { runCli } from "./helpers.js";

const MODEL = fileURLToPath(new URL("../../../models/edgellm-default-q8_0.gguf", import.meta.url));
const N = 12;

const cli = (args: string[], stdin?: string) => runCli(args, { stdin: stdin ?? "" });

test("bench, run --tokens and the engine (serve/chat) give the same greedy tokens", async () => {
  const llm = await loadLLM(MODEL, { kernels: "wasm", threads: 1, parallel: 1 });
  let engineTokens: number[] = [];
  let ids: number[];
  try {
    const nVocab = llm.model.config.nVocab;
    ids = promptIds(24, nVocab);
    const c = await llm.complete(ids, { maxTokens: N, temperature: 0, ignoreEos: true });
    engineTokens = c.choices[0].tokens;
    const b = await cli([
      "bench",
      "-m",
      MODEL,
      "--threads",
      "1",
      "--prompt",
      "24",
      "--gen",
      String(N),
      "--side",
      "ours",
      "--n-vocab",
      String(nVocab),
    ]);
    assert.equal(b.code, 0, b.err);
    const bench = JSON.parse(b.out.trim().split("\n").pop()!) as { tokens: number[] };
    const r = await cli([
      "run",
      "-m",
      MODEL,
      "--threads",
      "1",
      "--tokens",
      ids.join(","),
      "-n",
      String(N),
      "--ignore-eos",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(engineTokens.length, N);
    assert.deepEqual(bench.tokens, engineTokens, "bench vs engine");
    // run prints the continuation as text (the default model has a tokenizer).
    assert.equal(r.out.replace(/\n$/, ""), llm.tokenizer.decode(engineTokens), "run --tokens vs engine");
  } finally {
    await llm.close();
  }
});

test("run <message>, chat and serve answer a message with the same text", async () => {
  const msg = "What is 12 + 30?";
  const r = await cli(["run", "-m", MODEL, "--threads", "1", "-n", String(N), msg]);
  assert.equal(r.code, 0, r.err);
  const runText = r.out.replace(/\n$/, "");
  const ch = await cli(["chat", "-m", MODEL, "--threads", "1", "--temp", "0", "-n", String(N)], `${msg}\n`);
  assert.equal(ch.code, 0, ch.err);
  assert.ok(
    ch.out.includes(runText),
    `chat transcript ${JSON.stringify(ch.out)} lacks run's answer ${JSON.stringify(runText)}`,
  );
  const s = await startServe(MODEL, ["--threads", "1"]);
  try {
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "edgellm-default",
        messages: [{ role: "user", content: msg }],
        max_tokens: N,
        temperature: 0,
        reasoning_format: "none", // the raw text (by default the think block is reasoning_content)
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    assert.equal(body.choices[0].message.content, runText, "serve vs run");
  } finally {
    await s.stop();
  }
});
