// `edgellm chat --session file` in real child processes on the embedded default model: one
// process chats two turns and exits; a new process resumes from the file, and its third answer
// equals an uninterrupted three-turn run's (greedy), with the same prefix reuse (the restored
// history is not prefilled again). A session from another KV type is refused with an error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers.js";

const runChat = (args: string[], input: string) => runCli(["chat", ...args], { stdin: input });

const reused = (err: string) => [...err.matchAll(/prefix reused (\d+) tok/g)].map((m) => Number(m[1]));

test("chat --session: a new process resumes and answers as an uninterrupted run, without re-prefilling", async () => {
  const dir = mkdtempSync(join(tmpdir(), "chat-session-"));
  try {
    const file = join(dir, "s.session");
    const base = [
      "-s",
      "You are a calculator.",
      "-c",
      "512",
      "-n",
      "24",
      "--temp",
      "0",
      "--threads",
      "1",
      "--kv-type",
      "f16",
    ];
    const turns = ["What is 2 plus 3?", "And 7 times 6?", "Now add 10 to that."];
    const full = await runChat(base, turns.join("\n") + "\n");
    assert.equal(full.code, 0, full.err);
    const first = await runChat([...base, "--session", file], turns.slice(0, 2).join("\n") + "\n");
    assert.equal(first.code, 0, first.err);
    assert.ok(existsSync(file));
    const second = await runChat([...base, "--session", file], turns[2] + "\n");
    assert.equal(second.code, 0, second.err);
    assert.match(second.err, /session .*: 5 messages, KV of \d+ tokens restored/);
    // stdout carries only the answers: the two processes together print what one printed.
    assert.equal(first.out + second.out, full.out);
    assert.ok(second.out.trim().length > 0);
    const r = reused(second.err);
    assert.equal(r.length, 1);
    assert.ok(r[0] > 0);
    assert.equal(r[0], reused(full.err)[2], `${full.err}\n${second.err}`);
    // The same file under another KV type is an error, not a silent fresh start.
    const wrong = await runChat([...base.slice(0, -2), "--kv-type", "f32", "--session", file], "hi\n");
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.err, /SessionError|KV cache differs/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
