/**
 * `edgellm train` end to end on the tiny preset: data -> BPE -> training on the WASM shards ->
 * GGUF F32 + Q8_0. An interrupted run (--stop-at) resumed with --resume (tokenizer and
 * checkpoint reloaded) writes byte-identical GGUFs to an uninterrupted run; a 1-thread run
 * equals a 2-thread run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPipeline } from "../../src/train/pipeline.js";
import { presetByName } from "../../src/train/presets.js";
import { InputError } from "../../src/errors.js";

const tiny = presetByName("tiny");

test("train pipeline: resume after an interruption and 1 vs 2 threads give identical GGUFs", async () => {
  const root = mkdtempSync(join(tmpdir(), "edgellm-pipe-"));
  try {
    const run = (name: string, extra: object) =>
      runPipeline({ preset: tiny, workDir: join(root, name), outDir: join(root, name), ...extra });
    const full = await run("full", { threads: 2 });
    assert.equal(full.steps, tiny.steps);
    assert.ok(full.finalTrainLoss < 3.2, `tiny run final loss ${full.finalTrainLoss}`);
    const part = await run("split", { threads: 2, stopAt: 25 });
    assert.equal(part.steps, 25);
    const rest = await run("split", { threads: 2, resume: true });
    assert.equal(rest.steps, tiny.steps);
    const one = await run("one", { threads: 1 });
    for (const i of [0, 1]) {
      const a = readFileSync(full.files[i]);
      assert.ok(a.equals(readFileSync(one.files[i])), `${full.files[i]}: 1 thread differs from 2`);
    }
    // same loss curve, and the same bytes
    const sa = JSON.parse(readFileSync(join(root, "full", "summary.json"), "utf8"));
    const sb = JSON.parse(readFileSync(join(root, "split", "summary.json"), "utf8"));
    assert.deepEqual(sb.losses, sa.losses);
    assert.ok(readFileSync(full.files[0]).equals(readFileSync(rest.files[0])), "resumed F32 GGUF differs");
    // Q8_0 is smaller than F32 (matrices quantized)
    assert.ok(readFileSync(full.files[1]).length < readFileSync(full.files[0]).length / 2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("unknown preset is a typed error", () => {
  assert.throws(() => presetByName("huge"), InputError);
});
