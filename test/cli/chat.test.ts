// `edgellm chat` driven as a person (or a script) would: a real child process of the CLI with
// piped stdin. The transcript must equal what the library's ChatSession gives for the same turns
// (greedy), the answer must arrive in pieces while it is generated, /reset must clear history (the
// repeated first turn then reuses its cached KV prefix), /system must set the system message, and
// every answer must be followed by the speed line. Bad input exits non-zero with a message.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadLLM } from "../../src/engine/llm.js";
import { writeTestModel } from "../../src/model/factory/index.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "chat-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
// Big enough that one decode step takes milliseconds (the streaming check needs gaps between tokens).
const path = join(dir, "m.gguf");
await writeTestModel(path, {
  arch: "llama",
  nEmbd: 256,
  nLayer: 4,
  nHead: 4,
  nHeadKv: 2,
  nFf: 768,
  nCtx: 512,
  nVocab: 3000,
  seed: 11,
});
const N = 16;
const ARGS = [MAIN, "chat", "-m", path, "--kernels", "ts", "--temp", "0", "-n", String(N), "-c", "512"];
const SPEED = /^\[TTFT (\d+) ms \| (\d+) tok \| ([\d.]+) tok\/s \| prefix reused (\d+) tok( \| stopped)?\]$/;

interface Chat {
  /** stdout chunks as they arrived. */
  chunks: string[];
  stdout: () => string;
  stderr: () => string;
  send: (line: string) => void;
  end: () => void;
  /** Resolves when stderr has `n` speed lines. */
  speedLines: (n: number) => Promise<string[]>;
  exit: Promise<number | null>;
}

function startChat(args = ARGS): Chat {
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  const chunks: string[] = [];
  let err = "";
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding("utf8").on("data", (d: string) => chunks.push(d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    err += d;
    for (const w of waiters.splice(0)) w();
  });
  const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  const speed = () => err.split("\n").filter((l) => SPEED.test(l));
  return {
    chunks,
    stdout: () => chunks.join(""),
    stderr: () => err,
    send: (line) => child.stdin.write(`${line}\n`),
    end: () => child.stdin.end(),
    speedLines: (n) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (speed().length >= n) return resolve(speed());
          waiters.push(check);
        };
        exit.then(() =>
          speed().length >= n
            ? resolve(speed())
            : reject(new Error(`chat exited with ${speed().length} of ${n} speed lines; stderr:\n${err}`)),
        );
        check();
      }),
    exit,
  };
}

test(
  "chat over piped stdin: streaming, /reset, /system, speed lines, transcript == library",
  { timeout: 120_000 },
  async () => {
    // What the library gives for the same conversation.
    const llm = await loadLLM(path, { kernels: "ts", parallel: 1, contextSize: 512 });
    const expected: string[] = [];
    const s = llm.createSession();
    const say = async (t: string) => {
      let a = "";
      for await (const c of s.send(t, { maxTokens: N, temperature: 0, topP: 0.95 })) a += c.text;
      expected.push(a);
    };
    await say("Hello there");
    s.reset();
    await say("Hello there");
    s.setSystem("You are terse.");
    s.reset();
    await say("Hello there");
    await say("And then?");
    await llm.close();
    assert.equal(expected[0], expected[1], "greedy answers to the same fresh history must match");

    const chat = startChat();
    chat.send("Hello there");
    const [first] = await chat.speedLines(1);
    // Streaming: the first answer came to stdout in several pieces, not in one write at the end.
    const firstChunks = chat.chunks.length;
    assert.ok(firstChunks >= 3, `the first answer arrived in ${firstChunks} piece(s)`);
    assert.equal(chat.stdout(), `${expected[0]}\n`);
    assert.equal(Number(SPEED.exec(first)![2]), N);

    chat.send("/reset");
    chat.send("Hello there");
    chat.send("/system You are terse.");
    chat.send("Hello there");
    chat.send("And then?");
    chat.send("/nonsense");
    chat.end();
    const lines = await chat.speedLines(4);
    assert.equal(await chat.exit, 0, chat.stderr());
    assert.equal(chat.stdout(), expected.map((a) => `${a}\n`).join(""));
    const reused = lines.map((l) => Number(SPEED.exec(l)![4]));
    assert.equal(reused[0], 0);
    assert.ok(reused[1] > 0, `after /reset the same first turn reuses its cached prefix (${reused[1]})`);
    assert.ok(reused[3] > 0, `the second turn after /system reuses the first turn's KV (${reused[3]})`);
    for (const l of lines) {
      const [, ttft, n, tps] = SPEED.exec(l)!;
      assert.ok(Number(ttft) >= 0 && Number(n) === N && Number(tps) > 0, l);
    }
    const err = chat.stderr();
    assert.match(err, /\(history cleared\)/);
    assert.match(err, /\(system message set, history cleared\)/);
    assert.match(err, /unknown command \/nonsense/);
  },
);

test("chat: /exit leaves before end of input; a missing model is a message and exit 1", async () => {
  const chat = startChat();
  chat.send("/exit");
  chat.send("never answered");
  assert.equal(await chat.exit, 0);
  assert.equal(chat.stdout(), "");
  const bad = startChat([MAIN, "chat", "-m", join(dir, "missing.gguf"), "--kernels", "ts"]);
  bad.end();
  assert.equal(await bad.exit, 1);
  assert.match(bad.stderr(), /^edgellm: \w+Error: .*missing\.gguf/m);
  assert.doesNotMatch(bad.stderr(), /internal error| {4}at /);
  const temp = startChat([...ARGS, "--temp", "-1"]);
  temp.end();
  assert.equal(await temp.exit, 1);
  assert.match(temp.stderr(), /--temp must be a number/);
});
