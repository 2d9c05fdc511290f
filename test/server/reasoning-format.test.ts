/**
 * reasoning_content by default, through real HTTP (a listening server, fetch): the embedded default
 * model writes `<think>…</think>` (its vocabulary has both tokens), so a plain chat request gets the
 * think block in `reasoning_content` and only the answer in `content`, in JSON and in SSE deltas;
 * `reasoning_format: "none"` / `separate_reasoning: false` keep the old shape; bad values are 400
 * with the field in `param`. A model whose vocabulary and template have no think block is unchanged
 * unless the request asks (`reasoning_format: "deepseek"`).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { DEFAULT_MODEL_PATH } from "../../src/cli/default-model.js";
import { loadLLM, LLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { SMALL, smallModel } from "../engine/helpers.js";

type Message = { content: string; reasoning_content?: string };

async function listen(llm: LLM, modelId: string) {
  const srv = buildServer(llm, { modelId, logger: false });
  await srv.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = srv.app.server.address() as AddressInfo;
  const post = (body: object) =>
    fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: modelId, temperature: 0, ...body }),
    });
  return { close: () => srv.app.close(), post };
}

const def = await loadLLM(DEFAULT_MODEL_PATH, { kernels: "wasm", threads: 1 });
const defSrv = await listen(def, "edgellm-default");
const small = await smallModel({ ...SMALL });
const plain = new LLM(small.model, small.tokenizer, undefined, {});
const plainSrv = await listen(plain, "tiny");
after(async () => {
  await defSrv.close();
  await plainSrv.close();
  await def.close();
  await plain.close();
  small.cleanup();
});

const QUESTION = [{ role: "user", content: "What is 4821 + 377?" }];

async function sse(
  r: Response,
): Promise<{ content: string; reasoning: string; usage?: Record<string, unknown> }> {
  let content = "";
  let reasoning = "";
  let usage: Record<string, unknown> | undefined;
  for (const line of (await r.text()).split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    const ev = JSON.parse(line.slice(6));
    if (ev.usage) usage = ev.usage;
    for (const c of ev.choices) {
      reasoning += c.delta.reasoning_content ?? "";
      content += c.delta.content ?? "";
    }
  }
  return { content, reasoning, usage };
}

test("default model, no reasoning fields: the think block is reasoning_content, the answer is content", async () => {
  const r = await defSrv.post({ messages: QUESTION, max_tokens: 200 });
  assert.equal(r.status, 200);
  const j = await r.json();
  const msg: Message = j.choices[0].message;
  assert.equal(typeof msg.reasoning_content, "string");
  assert.ok(!msg.content.includes("<think>") && !msg.content.includes("</think>"), msg.content);
  assert.ok(!msg.reasoning_content!.includes("think>"), msg.reasoning_content);
  assert.match(msg.content, /^The answer is -?\d+\.$/);
  assert.match(msg.reasoning_content!, /4821 \+ 0?377/); // the column work the model writes
  const rt = j.usage.completion_tokens_details.reasoning_tokens;
  assert.ok(rt > 0 && rt < j.usage.completion_tokens, `reasoning tokens ${rt}`);

  // the stream carries the same split as reasoning_content / content deltas
  const s = await sse(
    await defSrv.post({
      messages: QUESTION,
      max_tokens: 200,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  assert.equal(s.reasoning, msg.reasoning_content);
  assert.equal(s.content, msg.content);
  assert.deepEqual(s.usage?.completion_tokens_details, { reasoning_tokens: rt });
});

test("reasoning_format none / separate_reasoning false: the think block stays in content", async () => {
  const split: Message = (await (await defSrv.post({ messages: QUESTION, max_tokens: 200 })).json())
    .choices[0].message;
  for (const f of [{ reasoning_format: "none" }, { separate_reasoning: false }]) {
    const r = await defSrv.post({ messages: QUESTION, max_tokens: 200, ...f });
    assert.equal(r.status, 200, JSON.stringify(f));
    const j = await r.json();
    const msg: Message = j.choices[0].message;
    assert.equal(msg.reasoning_content, undefined, JSON.stringify(f));
    assert.equal(j.usage.completion_tokens_details, undefined);
    assert.ok(msg.content.startsWith("<think>") && msg.content.includes("</think>"), msg.content);
    // same greedy tokens either way: only where the text goes differs
    assert.ok(msg.content.includes(split.reasoning_content!) && msg.content.endsWith(split.content));
    const s = await sse(await defSrv.post({ messages: QUESTION, max_tokens: 200, stream: true, ...f }));
    assert.equal(s.reasoning, "");
    assert.equal(s.content, msg.content);
  }
  for (const f of [
    { reasoning_format: "deepseek" },
    { reasoning_format: "auto" },
    { separate_reasoning: true },
  ]) {
    const msg: Message = (await (await defSrv.post({ messages: QUESTION, max_tokens: 200, ...f })).json())
      .choices[0].message;
    assert.deepEqual(msg, { ...split, role: "assistant", refusal: null }, JSON.stringify(f));
  }
});

test("reasoning_format / separate_reasoning: bad values are 400 with param", async () => {
  const cases: [object, string][] = [
    [{ reasoning_format: "raw" }, "reasoning_format"],
    [{ reasoning_format: 1 }, "reasoning_format"],
    [{ separate_reasoning: "yes" }, "separate_reasoning"],
    [{ separate_reasoning: 0 }, "separate_reasoning"],
  ];
  for (const [body, param] of cases) {
    const r = await defSrv.post({ messages: QUESTION, max_tokens: 4, ...body });
    assert.equal(r.status, 400, JSON.stringify(body));
    const e = (await r.json()).error;
    assert.equal(e.param, param, JSON.stringify(body));
    assert.equal(e.type, "invalid_request_error");
  }
});

test("a model without a think block: unchanged by default, split when the request asks", async () => {
  const body = { messages: [{ role: "user", content: "hi" }], max_tokens: 6, ignore_eos: true };
  const plainMsg: Message = (await (await plainSrv.post(body)).json()).choices[0].message;
  assert.equal(plainMsg.reasoning_content, undefined);
  const asked = await plainSrv.post({ ...body, reasoning_format: "deepseek" });
  assert.equal(asked.status, 200);
  const msg: Message = (await asked.json()).choices[0].message;
  // no <think> in the text: all of it is content (leading whitespace dropped), reasoning_content empty
  assert.equal(msg.reasoning_content, "");
  assert.equal(msg.content, plainMsg.content.replace(/^\s+/, ""));
});
