// `edgellm chat` never dies of a long history: a real child process of the CLI on the embedded
// default model with a 128-token context, fed 24 piped turns, answers every one (24 speed lines),
// says when old messages stop being seen, and exits 0 at end of input. A message longer than the
// whole context is cut from the front with a notice, not an exit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "./helpers.js";

const runChat = (args: string[], input: string) => runCli(["chat", ...args], { stdin: input });

test("chat on the default model survives 24 turns past a 128-token context, with notices", async () => {
  const turns = Array.from({ length: 24 }, (_, i) => `What is ${i + 2} plus ${i * 7 + 1}?`);
  const long = Array.from({ length: 200 }, (_, i) => String(i)).join(" + ");
  const input = [...turns.slice(0, 12), long, ...turns.slice(12)].join("\n") + "\n";
  const { code, out, err } = await runChat(
    ["-s", "You are a calculator.", "-c", "128", "--temp", "0", "--threads", "1"],
    input,
  );
  assert.equal(code, 0, err);
  const speed = err.split("\n").filter((l) => l.startsWith("[TTFT "));
  assert.equal(speed.length, 25, err);
  const notices = err.split("\n").filter((l) => l.includes("no longer seen by the model"));
  assert.ok(notices.length >= 5, err);
  assert.match(err, /your message was too long for the context: its first \d+ characters were left out/);
  assert.doesNotMatch(err, /InputError|this turn failed/);
  assert.ok(out.trim().length > 0);
});
