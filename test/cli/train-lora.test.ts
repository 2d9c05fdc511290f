// `edgellm train --lora` in a real child process on a factory llama model and a JSONL of chat
// examples: the adapter is written and loads in the runtime against its base; a run stopped at a
// step and resumed writes the same adapter bytes as an uninterrupted one (deterministic loop).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel } from "../../src/model/factory/index.js";
import { loadLoraAdapter, loadModel } from "../../src/model/index.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "train-lora-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("train --lora: adapter written, loads on its base; stop + resume = uninterrupted", async () => {
  const base = join(dir, "m.gguf");
  await writeTestModel(base, {
    arch: "llama",
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    nHeadKv: 2,
    nFf: 96,
    nCtx: 64,
    nVocab: 300,
    seed: 2,
  });
  const rows = Array.from({ length: 24 }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: "user", content: `${i + 1} km in m?` },
        { role: "assistant", content: `${(i + 1) * 1000} m` },
      ],
    }),
  );
  writeFileSync(join(dir, "d.jsonl"), rows.join("\n") + "\n");
  const run = (out: string, work: string, extra: string[]) =>
    promisify(execFile)(process.execPath, [
      MAIN,
      "train",
      "--lora",
      "--base",
      base,
      "--data",
      join(dir, "d.jsonl"),
      "--adapter",
      out,
      "--work",
      work,
      "--rank",
      "4",
      "--alpha",
      "8",
      "--steps",
      "12",
      "--batch",
      "2",
      "--seq-len",
      "32",
      "--lr",
      "1e-2",
      "--no-progress",
      ...extra,
    ]);
  const full = await run(join(dir, "a.gguf"), join(dir, "w1"), []);
  assert.match(full.stdout, /12 steps, loss [\d.]+ -> [\d.]+/);
  await run(join(dir, "b.gguf"), join(dir, "w2"), ["--stop-at", "5"]);
  await run(join(dir, "b.gguf"), join(dir, "w2"), ["--resume"]);
  assert.ok(readFileSync(join(dir, "a.gguf")).equals(readFileSync(join(dir, "b.gguf"))));
  const m = await loadModel(base);
  const a = await loadLoraAdapter(join(dir, "a.gguf"), m);
  assert.equal(a.tensors.size, 2 * 7);
  assert.equal(a.alpha, 8);
});
