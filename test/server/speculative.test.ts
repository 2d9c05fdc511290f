// Speculative decoding in a real `edgellm serve --draft d.gguf --draft-max 4` child process:
// concurrent greedy requests (continuous batching, each with its own drafts) answer exactly what a
// plain server answers; /metrics counts drafted and accepted tokens (edgellm_spec_*); `--lookup`
// and `--draft-layers 1` (self-speculative early exit) the same; a draft with another vocabulary stops serve with VocabMismatchError and a non-zero exit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { startServe, type Served } from "./serve-process.js";

const dir = mkdtempSync(join(tmpdir(), "serve-spec-"));
const spec: TestModelSpec = {
  arch: "llama",
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 256,
  nVocab: 600,
  seed: 9,
};
const common = ["--parallel", "4", "--ctx-size", "256", "--threads", "1", "--model-id", "t"];
let plain: Served;
let drafted: Served;
let lookup: Served;
let exit: Served;

before(async () => {
  await writeTestModel(join(dir, "m.gguf"), spec);
  // The target's first layer alone (same seed: same embeddings, layer 0 and head).
  await writeTestModel(join(dir, "d.gguf"), { ...spec, nLayer: 1 });
  await writeTestModel(join(dir, "other.gguf"), { ...spec, nVocab: 700, nLayer: 1 });
  plain = await startServe(join(dir, "m.gguf"), common);
  drafted = await startServe(join(dir, "m.gguf"), [
    ...common,
    "--draft",
    join(dir, "d.gguf"),
    "--draft-max",
    "4",
  ]);
  lookup = await startServe(join(dir, "m.gguf"), [...common, "--lookup"]);
  exit = await startServe(join(dir, "m.gguf"), [...common, "--draft-layers", "1", "--draft-max", "3"]);
});
after(async () => {
  await plain?.stop();
  await drafted?.stop();
  await lookup?.stop();
  await exit?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const complete = async (srv: Served, prompt: string) => {
  const r = await fetch(`${srv.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "t", prompt, max_tokens: 40, temperature: 0, ignore_eos: true }),
  });
  const j = (await r.json()) as any;
  assert.equal(r.status, 200, JSON.stringify(j));
  return j.choices[0].text as string;
};
const metric = async (srv: Served, name: string) => {
  const m = await fetch(`${srv.url}/metrics`).then((x) => x.text());
  const v = new RegExp(`^${name} (\\S+)$`, "m").exec(m);
  assert.ok(v, `${name} missing`);
  return Number(v[1]);
};

const prompts = [
  "hello there, general",
  "once upon a time the little girl",
  "the model and the token",
  "run fast",
];

for (const [name, srv] of [
  ["--draft", () => drafted],
  ["--lookup", () => lookup],
  ["--draft-layers 1", () => exit],
] as const) {
  test(`serve ${name}: concurrent greedy answers equal a plain server's; /metrics counts drafts`, async () => {
    const want = await Promise.all(prompts.map((p) => complete(plain, p)));
    const got = await Promise.all(prompts.map((p) => complete(srv(), p)));
    assert.deepEqual(got, want);
    const drafts = await metric(srv(), "edgellm_spec_drafted_tokens_total");
    const accepted = await metric(srv(), "edgellm_spec_accepted_tokens_total");
    assert.ok(drafts > 0 && accepted >= 0 && accepted <= drafts, `${accepted} of ${drafts}`);
    if (name !== "--lookup") assert.ok((await metric(srv(), "edgellm_spec_draft_forwards_total")) > 0);
    assert.equal(await metric(plain, "edgellm_spec_drafted_tokens_total"), 0);
  });
}

test("serve --draft-layers outside the model's layers exits non-zero naming the range", async () => {
  await assert.rejects(startServe(join(dir, "m.gguf"), [...common, "--draft-layers", "2"]), (e: Error) => {
    assert.match(e.message, /serve exited [1-9]/);
    assert.match(e.message, /draftLayers must be an integer in 1\.\.1 \(the model has 2 layers\)/);
    return true;
  });
});

test("serve --draft with another vocabulary exits non-zero naming VocabMismatchError", async () => {
  await assert.rejects(
    startServe(join(dir, "m.gguf"), [...common, "--draft", join(dir, "other.gguf")]),
    (e: Error) => {
      assert.match(e.message, /serve exited [1-9]/);
      assert.match(e.message, /VocabMismatchError/);
      assert.match(e.message, /700/);
      return true;
    },
  );
});
