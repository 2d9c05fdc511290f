// Image input through a real `edgellm serve --mmproj` process and the official `openai` client
// (issue #22): a PNG data URL + a question gets a streamed answer, the same greedy text
// llama-mtmd-cli generated for that image, prompt and random-weight model
// (test/golden/vision/greedy.json); a repeated image is served from the embedding cache (the
// /metrics counters: one encode, one hit); /v1/models says the model reads images; the CLI's
// `run --image` and `chat --image` give the same answer; run exits 1 on a bad image.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { encode as encodePng } from "fast-png";
import { writeTestMmproj } from "../../src/model/factory/mmproj.js";
import { writeTestModel } from "../../src/model/factory/index.js";
import { BUILTIN_TEMPLATES } from "../../src/tokenizer/builtin-templates.js";
import { GOLDEN_DIR, loadCases, readPpm } from "../vision/fixtures.js";
import { startServe, type Served } from "./serve-process.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const c = loadCases().find((x) => x.name === "llava15")!;
const golden = (
  JSON.parse(readFileSync(join(GOLDEN_DIR, "greedy.json"), "utf8")) as Record<
    string,
    { stdout: string; nPredict: number }
  >
).llava15!;
// The answer's text: llama.cpp's printed pieces less the SentencePiece space prefix, which
// detokenizing drops from the first piece (llama_detokenize); llava15 stops at the token limit.
const expected = golden.stdout.replace(/^ /, "");
const dir = mkdtempSync(join(tmpdir(), "serve-vision-"));
const mm = join(dir, "mmproj.gguf");
const lm = join(dir, "lm.gguf");
const img = readPpm(join(GOLDEN_DIR, c.image));
const png = encodePng({ width: img.width, height: img.height, data: img.data, depth: 8, channels: 3 });
const pngPath = join(dir, "image.png");
let srv: Served;
let client: OpenAI;

before(async () => {
  await writeTestMmproj(mm, c.mmproj);
  // The golden's model, with the chat template llama-mtmd-cli was given (--chat-template chatml).
  await writeTestModel(lm, { ...c.lm, metadata: { "tokenizer.chat_template": BUILTIN_TEMPLATES.chatml! } });
  writeFileSync(pngPath, png);
  srv = await startServe(lm, [
    "--mmproj",
    mm,
    "--threads",
    "2",
    "--parallel",
    "2",
    "--model-id",
    "tiny-vision",
  ]);
  client = new OpenAI({ apiKey: "none", baseURL: `${srv.url}/v1`, maxRetries: 0 });
});
after(async () => {
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function ask(): Promise<{ text: string; chunks: number }> {
  const stream = await client.chat.completions.create({
    model: "tiny-vision",
    stream: true,
    temperature: 0,
    max_tokens: golden.nPredict,
    messages: [
      {
        role: "user",
        content: [
          {
            type: "image_url",
            image_url: { url: `data:image/png;base64,${Buffer.from(png).toString("base64")}` },
          },
          { type: "text", text: "describe" },
        ],
      },
    ],
  });
  let text = "";
  let chunks = 0;
  for await (const ch of stream) {
    text += ch.choices[0]?.delta.content ?? "";
    chunks++;
  }
  return { text, chunks };
}

async function counter(name: string): Promise<number> {
  const body = await (await fetch(`${srv.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(body);
  return m ? Number(m[1]) : NaN;
}

test("openai client: image + question -> streamed answer = llama-mtmd-cli's; a repeated image is not re-encoded", async () => {
  const models = await client.models.list();
  assert.deepEqual((models.data[0] as unknown as { modalities: unknown }).modalities, { vision: true });
  const first = await ask();
  assert.ok(first.chunks > 2, `streamed in ${first.chunks} chunks`);
  assert.equal(first.text, expected);
  assert.equal(await counter("edgellm_images_encoded_total"), 1);
  assert.equal(await counter("edgellm_image_cache_hits_total"), 0);
  const again = await ask();
  assert.equal(again.text, first.text);
  assert.equal(await counter("edgellm_images_encoded_total"), 1, "the repeated image was encoded again");
  assert.equal(await counter("edgellm_image_cache_hits_total"), 1);
});

test("run --image and chat --image: the same answer; a bad image exits 1 with a clear message", () => {
  const run = (image: string) =>
    spawnSync(
      process.execPath,
      [
        MAIN,
        "run",
        "-m",
        lm,
        "--mmproj",
        mm,
        "--image",
        image,
        "-n",
        String(golden.nPredict),
        "--threads",
        "2",
        "describe",
      ],
      { encoding: "utf8" },
    );
  const ok = run(pngPath);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.replace(/\n$/, ""), expected);
  // chat: --image goes with the first message; the answer is the same greedy text.
  const chat = spawnSync(
    process.execPath,
    [
      MAIN,
      "chat",
      "-m",
      lm,
      "--mmproj",
      mm,
      "--image",
      pngPath,
      "--temp",
      "0",
      "-n",
      String(golden.nPredict),
      "--threads",
      "2",
    ],
    { encoding: "utf8", input: "describe\n" },
  );
  assert.equal(chat.status, 0, chat.stderr);
  assert.equal(chat.stdout.split("\n")[0], expected);
  const bad = join(dir, "bad.png");
  const corrupt = png.slice();
  corrupt[corrupt.length - 16]! ^= 0x5a;
  for (const [name, bytes, re] of [
    ["corrupt PNG", corrupt, /--image .*bad\.png: corrupt PNG/],
    ["text", new TextEncoder().encode("hello world"), /not an image/],
    ["GIF", new TextEncoder().encode("GIF89a\x01\x00\x01\x00"), /unsupported image format 'gif'/],
  ] as const) {
    writeFileSync(bad, bytes);
    const r = run(bad);
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, re, name);
  }
});
