/**
 * forwardBatch's fused KernelSet dispatches: RMSNorm + activation quantization + the Q/K/V (or
 * gate/up) products as one ks.normMatmul per layer and sub-layer. The KernelSet promises the same
 * bits as the calls apart, so logits with fuseOps on and off must be identical, for separate
 * q/k/v and gate/up weights (llama) and for phi3's stacked ones, over prefill and decode.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "../../src/gguf/types.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";

let dir: string;
let ks: WasmKernelSet;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "fused-fwd-"));
  ks = await createWasmKernelSet({ threads: 2 });
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await ks.dispose();
});

const base = { nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 96, nCtx: 64, nVocab: 300, weightStd: 0.15 };
const CASES: [string, TestModelSpec][] = [
  ["llama Q4_0 (q, k, v, gate, up apart)", { arch: "llama", ...base, types: { weights: GGMLType.Q4_0 } }],
  [
    "phi3 Q8_0 (stacked qkv and gate/up)",
    { arch: "phi3", name: "fused-test", ...base, types: { weights: GGMLType.Q8_0 } },
  ],
  ["qwen2 F16 (biases)", { arch: "qwen2", ...base, types: { weights: GGMLType.F16 } }],
];

for (const [name, spec] of CASES) {
  test(`${name}: fused norm+products give the same logits as the unfused calls`, async () => {
    const path = join(dir, `${spec.arch}.gguf`);
    await writeTestModel(path, spec);
    const m = await loadModel(path, { kernels: ks });
    let calls = 0;
    const orig = ks.normMatmul.bind(ks);
    ks.normMatmul = (...a: Parameters<typeof orig>) => {
      calls++;
      return orig(...a);
    };
    try {
      const run = (fuse: boolean) => {
        m.fuseOps = fuse;
        const cache = m.newCache(24);
        const out: Float32Array[] = [m.forward([1, 17, 250, 3, 99, 42, 7], cache)[0]];
        for (let s = 0; s < 6; s++) out.push(m.forward([(s * 31 + 5) % 300], cache)[0]);
        return out;
      };
      const a = run(true);
      assert.equal(calls, 7 * 2 * 2, "one normMatmul per layer and sub-layer per step");
      const b = run(false);
      assert.equal(calls, 28, "fuseOps=false runs the norm and products apart");
      for (let s = 0; s < a.length; s++) assert.deepEqual(a[s], b[s], `step ${s}`);
    } finally {
      ks.normMatmul = orig;
      m.fuseOps = true;
    }
  });
}
