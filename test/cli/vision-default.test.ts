/**
 * The README's image command: `edgellm run --image examples/sum.png "Solve this"` with neither -m
 * nor --mmproj uses the embedded tiny vision pair (models/edgellm-vision-*.gguf, issue #22) and
 * answers the rendered problem. The expected answer is the true result of the problem the renderer
 * drew (examples/sum.json, written by scripts/vision/render.mjs with the image), not a recorded
 * output of ours. The pair's accuracy over many held-out images is measured by
 * scripts/vision/eval.mjs (docs/vision.md), not asserted here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEFAULT_VISION_LM_PATH, DEFAULT_VISION_MMPROJ_PATH } from "../../src/cli/default-model.js";
import { execCli, runCli } from "./helpers.js";

const EXAMPLE = fileURLToPath(new URL("../../../examples/sum.png", import.meta.url));
const LABEL = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../../examples/sum.json", import.meta.url)), "utf8"),
);

test("the tiny vision pair ships with the package", () => {
  assert.ok(existsSync(DEFAULT_VISION_LM_PATH), DEFAULT_VISION_LM_PATH);
  assert.ok(existsSync(DEFAULT_VISION_MMPROJ_PATH), DEFAULT_VISION_MMPROJ_PATH);
});

test('run --image examples/sum.png "Solve this" without -m/--mmproj reads and solves the problem', async () => {
  const want = LABEL.op === "+" ? LABEL.a + LABEL.b : LABEL.a - LABEL.b;
  const { stdout } = await execCli(["run", "--image", EXAMPLE, "Solve this", "--threads", "1"], 16 << 20);
  assert.match(stdout, /<think>[\s\S]*<\/think>/);
  const ans = stdout.match(/The answer is (-?\d+)/);
  assert.ok(ans, stdout);
  assert.equal(Number(ans[1]), want, stdout);
});

test("run --image with -m but no --mmproj exits 1 with a message", async () => {
  const r = await runCli(["run", "-m", DEFAULT_VISION_LM_PATH, "--image", EXAMPLE, "Solve this"], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /--image needs --mmproj/);
});
