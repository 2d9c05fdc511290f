// A 60-turn conversation through the server (buildServer on loopback, the official `openai`
// client) on the embedded default model with a 256-token context: every turn sends the whole
// history with `truncate: "oldest_turns"`, as a chat client would, so from about the tenth turn on
// the oldest turns must go. Every turn answers (no 4xx/5xx), the system message and the newest
// user message are always in what the model sees (prompt_tokens equals the encoded window that
// usage.dropped_messages describes), streamed and non-streamed turns alike; after every turn the
// KV pool holds no blocks for live sequences (the pool itself is allocated once), and the JS heap
// and array buffers after garbage collection do not grow between turn 20 and turn 60.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { loadLLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { chatWindow } from "../../src/engine/chat-window.js";
import { DEFAULT_MODEL_PATH } from "../../src/cli/default-model.js";
import type { ChatMessage } from "../../src/tokenizer/chat-template.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const CTX = 256;
const llm = await loadLLM(DEFAULT_MODEL_PATH, { threads: 1, contextSize: CTX, parallel: 1 });
const srv = buildServer(llm, { modelId: "default" });
await srv.app.listen({ port: 0, host: "127.0.0.1" });
const port = (srv.app.server.address() as AddressInfo).port;
const client = new OpenAI({ apiKey: "none", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
after(async () => {
  await srv.app.close();
  await llm.close();
});

function memory(): { heap: number; buffers: number } {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

test("60 turns through /v1/chat/completions on the default model: none fails, the newest turn and the system message are always seen", async () => {
  const SYSTEM = "You are a calculator. Answer with the number.";
  const history: ChatMessage[] = [{ role: "system", content: SYSTEM }];
  let droppedTurns = 0;
  let mem20: { heap: number; buffers: number } | undefined;
  for (let i = 0; i < 60; i++) {
    history.push({ role: "user", content: `What is ${(i * 7) % 50} plus ${(i * 13) % 40}?` });
    const body = {
      model: "default",
      messages: history,
      max_tokens: 24,
      temperature: 0,
      truncate: "oldest_turns",
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
    let answer = "";
    let usage: (OpenAI.CompletionUsage & { dropped_messages?: number }) | undefined;
    if (i % 3 === 2) {
      // Every third turn streamed, with the usage chunk.
      const stream = await client.chat.completions.create({
        ...body,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const ch of stream) {
        answer += ch.choices[0]?.delta?.content ?? "";
        if (ch.usage) usage = ch.usage;
      }
    } else {
      const r = await client.chat.completions.create(body);
      answer = r.choices[0].message.content ?? "";
      usage = r.usage;
    }
    assert.ok(usage, `turn ${i}: no usage`);
    // What the model saw: the system message and the newest messages after `dropped` old ones.
    const dropped = usage.dropped_messages ?? 0;
    const seen = chatWindow(history, 1 + dropped);
    assert.equal(seen[0].content, SYSTEM);
    assert.equal(seen.at(-1)!.content, history.at(-1)!.content, `turn ${i}: the newest message was dropped`);
    assert.equal(seen[1].role, "user", `turn ${i}: the window starts inside a turn`);
    assert.equal(usage.prompt_tokens, llm.encodeChat(seen).length, `turn ${i}: prompt_tokens`);
    assert.ok(usage.prompt_tokens + usage.completion_tokens <= CTX);
    if (dropped > 0) droppedTurns++;
    history.push({ role: "assistant", content: answer });
    // No sequence outlives its request: every block is free or in the prefix cache.
    assert.equal(llm.stats().kv.used, 0, `turn ${i}: KV blocks still held`);
    if (i === 19) mem20 = memory();
  }
  const mem60 = memory();
  console.log(
    `# turns with dropped messages: ${droppedTurns}/60; heap ${(mem20!.heap / 2 ** 20).toFixed(1)} -> ${(mem60.heap / 2 ** 20).toFixed(1)} MiB, array buffers ${(mem20!.buffers / 2 ** 20).toFixed(1)} -> ${(mem60.buffers / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.ok(droppedTurns >= 40, `windowing should have applied on most turns (${droppedTurns})`);
  // Stable memory: 40 more turns may not leave more than a few MiB behind (a per-turn leak of the
  // logits or the history would show as tens of MiB).
  assert.ok(mem60.heap - mem20!.heap < 16 * 2 ** 20, `heap grew ${mem60.heap - mem20!.heap} bytes`);
  assert.ok(mem60.buffers - mem20!.buffers < 16 * 2 ** 20, `buffers grew ${mem60.buffers - mem20!.buffers}`);
});
