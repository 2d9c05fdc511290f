/**
 * Factory models against the reference: llama.cpp (node-llama-cpp's prebuilt CPU build) must load
 * them and tokenize with the built-in vocab, and our reader must read back exactly the bytes the
 * factory generated.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, type Llama } from "node-llama-cpp";
import { GGMLType, ggmlTypeName } from "../../src/gguf/types.js";
import { openGGUF } from "../../src/gguf/reader.js";
import { getStringArray } from "../../src/gguf/getters.js";
import {
  FACTORY_ARCHS,
  resolveTestModelSpec,
  tensorTypeFor,
  tensorValues,
  writeTestModel,
  type TestModelSpec,
} from "../../src/model/factory/index.js";
import { encodeTensor } from "../../src/model/factory/tensor-data.js";

let llama: Llama;
let dir: string;
before(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  dir = mkdtempSync(join(tmpdir(), "factory-"));
});
after(async () => {
  await llama?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const base: TestModelSpec = { arch: "llama", nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 96, nCtx: 256 };

async function checkModel(spec: TestModelSpec, file: string) {
  const path = join(dir, file);
  await writeTestModel(path, spec);

  // Our reader: every tensor's bytes equal what the factory generated for it.
  const s = resolveTestModelSpec(spec);
  const g = await openGGUF(path);
  let tokens: string[];
  try {
    const plan = FACTORY_ARCHS.get(s.arch)!.tensors(s);
    assert.deepEqual(
      g.tensors.map((t) => t.name),
      plan.map((t) => t.name),
    );
    for (const t of plan) {
      const info = g.tensorByName(t.name)!;
      assert.deepEqual(info.dims, t.dims);
      assert.equal(info.type, tensorTypeFor(s, t), t.name);
      assert.deepEqual(
        await g.readTensor(info),
        encodeTensor(info.type, tensorValues(s, t), t.dims[0]!),
        t.name,
      );
    }
    tokens = getStringArray(g.metadata, "tokenizer.ggml.tokens");
  } finally {
    await g.close();
  }

  // llama.cpp loads it, tokenizes with our vocab, and runs a forward pass.
  const model = await llama.loadModel({ modelPath: path });
  try {
    const ids = model.tokenize("hello world");
    assert.deepEqual(
      ids.map((id) => tokens[id]),
      ["\u2581hello", "\u2581world"],
    );
    assert.equal(model.detokenize(model.tokenize("the small llama")), "the small llama");
    const ctx = await model.createContext({ contextSize: 64, threads: 1 });
    try {
      const seq = ctx.getSequence();
      const out: number[] = [];
      for await (const tok of seq.evaluate(model.tokenize("once upon"), { temperature: 0 })) {
        out.push(tok);
        if (out.length === 3) break;
      }
      assert.equal(out.length, 3);
      for (const t of out) assert.ok(t >= 0 && t < s.nVocab);
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

for (const type of [GGMLType.F32, GGMLType.F16, GGMLType.BF16]) {
  test(`llama ${ggmlTypeName(type)} factory model loads and runs in llama.cpp`, async () => {
    await checkModel({ ...base, types: { weights: type } }, `llama-${ggmlTypeName(type)}.gguf`);
  });
}

test("llama Q8_0 (token_embd Q8_0 too) loads and runs in llama.cpp", async () => {
  await checkModel({ ...base, nFf: 128, types: { weights: GGMLType.Q8_0 } }, "llama-q8_0.gguf");
});

test("llama MoE, tied embeddings, GQA head_dim != nEmbd/nHead, padded vocab", async () => {
  await checkModel(
    { ...base, headDim: 32, nVocab: 600, tiedEmbeddings: true, moe: { nExpert: 4, nExpertUsed: 2 }, seed: 9 },
    "llama-moe.gguf",
  );
});
