// `edgellm chat` survives 100 piped turns: a real child process of the CLI on the embedded default
// model with a 128-token context (about three turns fit), 16 tokens per answer, saving the
// session after every turn. Every turn is answered (100 speed lines), it exits 0 at end of input,
// it says when old messages stop being seen (a running count that only grows), and the saved
// session holds the whole transcript: the system message, then all 100 user messages in order,
// each followed by its answer, with the model's window starting past the dropped turns.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeSession } from "../../src/kv/session.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function runChat(args: string[], input: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, "chat", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("close", (code) => resolve({ code, out, err }));
    child.stdin.end(input);
  });
}

test("chat on the default model: 100 piped turns on a 128-token context, all answered, transcript kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "chat-long-"));
  try {
    const session = join(dir, "s.session");
    const SYSTEM = "You are a calculator.";
    const turns = Array.from({ length: 100 }, (_, i) => `What is ${(i * 7) % 50} plus ${(i * 13) % 40}?`);
    const { code, out, err } = await runChat(
      ["-s", SYSTEM, "-c", "128", "-n", "16", "--temp", "0", "--threads", "1", "--session", session],
      turns.join("\n") + "\n",
    );
    assert.equal(code, 0, err);
    assert.doesNotMatch(err, /InputError|this turn failed|Error:/);
    const speed = err.split("\n").filter((l) => l.startsWith("[TTFT "));
    assert.equal(speed.length, 100, err);
    assert.ok(out.trim().length > 0);
    // "(context 128 full: the 2 oldest message(s) are no longer seen by the model, 194 in all; ...)"
    const totals = [...err.matchAll(/no longer seen by the model, (\d+) in all/g)].map((m) => Number(m[1]));
    assert.ok(totals.length >= 30, `only ${totals.length} notices`);
    for (let i = 1; i < totals.length; i++) assert.ok(totals[i] > totals[i - 1], `counts ${totals}`);
    const h = decodeSession(readFileSync(session)).header;
    const msgs = h.chat!.messages;
    assert.equal(msgs.length, 1 + 2 * turns.length);
    assert.deepEqual(msgs[0], { role: "system", content: SYSTEM });
    for (let i = 0; i < turns.length; i++) {
      assert.deepEqual(msgs[1 + 2 * i], { role: "user", content: turns[i] });
      assert.equal(msgs[2 + 2 * i].role, "assistant");
    }
    // The model's window starts past the dropped messages (the last notice's count), at a user turn.
    assert.equal(h.chat!.first, 1 + totals.at(-1)!);
    assert.equal(msgs[h.chat!.first].role, "user");
    assert.ok(h.tokens.length <= 128);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
