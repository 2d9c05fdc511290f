/**
 * End-to-end speed on one GGUF: our forward (WASM kernels) vs llama.cpp (node-llama-cpp CPU build),
 * same file, same thread count, greedy. Prints prefill and decode tokens/s for both and the ratios.
 * Ours runs twice: KV in WASM memory with the kernels' attention (newCache default, "kernel") and
 * the exact JS cache + TS attention ("js"), so the attention's share shows; `ref=0` skips llama.cpp.
 *   node .dist-model3/bench/model-run.js <file.gguf> [threads=2] [prompt=32] [decode=16] [ref=1]
 */
import { getLlama, type Token } from "node-llama-cpp";
import { createWasmKernelSet } from "../src/kernels/wasm/wasm-kernel-set.js";
import { loadModel } from "../src/model/index.js";

const [path, thr = "2", np = "32", nd = "16", withRef = "1"] = process.argv.slice(2);
const threads = Number(thr);
const prompt = Array.from({ length: Number(np) }, (_, i) => 300 + ((i * 37) % 1000));
const nDecode = Number(nd);

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

async function ours(where: "kernel" | "js") {
  const ks = await createWasmKernelSet({ threads });
  try {
    const m = await loadModel(path, { kernels: ks });
    const cache = m.newCache(prompt.length + nDecode + 1, "f32", where);
    let t = performance.now();
    let logits = m.forward(prompt, cache)[0];
    const pre = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < nDecode; i++) logits = m.forward([argmax(logits)], cache)[0];
    const dec = performance.now() - t;
    return { prefill: (prompt.length * 1000) / pre, decode: (nDecode * 1000) / dec };
  } finally {
    await ks.dispose();
  }
}

async function reference() {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({ contextSize: 256, threads, flashAttention: false });
  const seq = ctx.getSequence();
  const tok = (x: number) => x as unknown as Token;
  const step = { generateNext: { token: true, options: { temperature: 0 } } } as const;
  let t = performance.now();
  const r = await seq.controlledEvaluate([...prompt.slice(0, -1).map(tok), [tok(prompt[prompt.length - 1]), step]]);
  const pre = performance.now() - t;
  let next = r[prompt.length - 1]!.next!.token!;
  t = performance.now();
  for (let i = 0; i < nDecode; i++) next = (await seq.controlledEvaluate([[next, step]]))[0]!.next!.token!;
  const dec = performance.now() - t;
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
  return { prefill: (prompt.length * 1000) / pre, decode: (nDecode * 1000) / dec };
}

const k = await ours("kernel");
const j = await ours("js");
const f = (x: number) => x.toFixed(2);
console.log(`threads ${threads}, prompt ${prompt.length}, decode ${nDecode}`);
console.log(`edgellm (KV in WASM, ks.attention) prefill ${f(k.prefill)} tok/s  decode ${f(k.decode)} tok/s`);
console.log(`edgellm (JS KV, TS attention)      prefill ${f(j.prefill)} tok/s  decode ${f(j.decode)} tok/s`);
if (withRef !== "0") {
  const b = await reference();
  console.log(`llama.cpp                          prefill ${f(b.prefill)} tok/s  decode ${f(b.decode)} tok/s`);
  console.log(`ratio (WASM attention / llama.cpp) prefill ${f(k.prefill / b.prefill)}  decode ${f(k.decode / b.decode)}`);
}
