// The server's opt-in `truncate: "oldest_turns"` (engine/chat-window.ts, shared with ChatSession):
// a conversation longer than the context is a 400 context_length_exceeded by default, and with
// the field it is answered with the oldest whole turns dropped, the system message kept, and
// usage.dropped_messages saying how many. A bad value is a 400 naming the field.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { LLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { chatWindow, dropOldestTurns } from "../../src/engine/chat-window.js";
import { SMALL, smallModel } from "../engine/helpers.js";

const TEMPLATE =
  "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
const m = await smallModel({ ...SMALL, metadata: { "tokenizer.chat_template": TEMPLATE } });
const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 2, contextSize: 128 });
const srv = buildServer(llm, { modelId: "tiny" });
after(async () => {
  await srv.app.close();
  await llm.close();
  m.cleanup();
});

const history = [{ role: "system", content: "be brief" }];
for (let i = 0; i < 30; i++)
  history.push({ role: "user", content: `question ${i}` }, { role: "assistant", content: `answer ${i}` });
history.push({ role: "user", content: "last question" });

const post = (body: object) =>
  srv.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    payload: { model: "tiny", messages: history, max_tokens: 4, temperature: 0, ...body },
  });

test("a long conversation: 400 by default, answered with truncate oldest_turns", async () => {
  const plain = await post({});
  assert.equal(plain.statusCode, 400);
  assert.equal(plain.json().error.code, "context_length_exceeded");
  const res = await post({ truncate: "oldest_turns" });
  assert.equal(res.statusCode, 200, res.body);
  const u = res.json().usage;
  assert.ok(u.dropped_messages > 0 && u.dropped_messages % 2 === 0, JSON.stringify(u));
  assert.ok(u.prompt_tokens + 4 <= 128);
  const bad = await post({ truncate: "middle" });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.param, "truncate");
});

test("dropOldestTurns keeps the system message and the last message, drops whole turns", () => {
  const encode = (w: unknown[]): number[] => new Array<number>(w.length * 10).fill(0);
  const f = dropOldestTurns(history, 0, 100, encode);
  const w = chatWindow(history, f.first);
  assert.equal(w[0].role, "system");
  assert.equal(w[1].role, "user");
  assert.equal(w.at(-1)!.content, "last question");
  assert.ok(w.length * 10 <= 100);
  assert.equal(f.dropped, history.length - w.length);
  // Nothing fits: everything but the system message and the last message goes.
  assert.equal(chatWindow(history, dropOldestTurns(history, 0, 1, encode).first).length, 2);
});
