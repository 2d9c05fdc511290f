/**
 * The edgellm side of `edgellm bench`: the generic forward pass on the WASM SIMD kernels, F16 KV
 * cache (llama.cpp's default KV type), greedy argmax. See workload.ts for the phases.
 */
import { openGGUF } from "../../gguf/reader.js";
import { createWasmKernelSet } from "../../kernels/wasm/wasm-kernel-set.js";
import { loadFromFile, type Transformer } from "../../model/index.js";
import { argmax, peakRss, promptIds, type SideResult, type Workload } from "./workload.js";

export async function runOurs(w: Workload): Promise<SideResult> {
  const ks = await createWasmKernelSet({ threads: w.threads });
  try {
    const t0 = performance.now();
    const file = await openGGUF(w.model);
    let model: Transformer;
    try {
      model = loadFromFile(file, { kernels: ks });
    } finally {
      await file.close();
    }
    const loadMs = performance.now() - t0;
    const rssLoaded = process.memoryUsage().rss;
    const prompt = promptIds(w.prompt, w.nVocab);
    const cap = w.prompt + w.gen + 1;

    // Warm-up.
    const wc = model.newCache(16, "f16");
    let logits = model.forward(prompt.slice(0, 8), wc)[0];
    for (let i = 0; i < 2; i++) logits = model.forward([argmax(logits)], wc)[0];

    // Prompt processing: one batch.
    let t = performance.now();
    model.forward(prompt, model.newCache(cap, "f16"));
    const ppMs = performance.now() - t;

    // TTFT then decode on a fresh sequence.
    const cache = model.newCache(cap, "f16");
    t = performance.now();
    logits = model.forward(prompt, cache)[0];
    const tokens = [argmax(logits)];
    const ttftMs = performance.now() - t;
    t = performance.now();
    for (let i = 1; i < w.gen; i++) {
      logits = model.forward([tokens[i - 1]], cache)[0];
      tokens.push(argmax(logits));
    }
    const decMs = performance.now() - t;
    return {
      side: "edgellm",
      loadMs,
      ppTokS: (w.prompt * 1000) / ppMs,
      ttftMs,
      decodeTokS: w.gen > 1 ? ((w.gen - 1) * 1000) / decMs : 0,
      rssLoaded,
      rssPeak: peakRss(),
      tokens,
      config: `${ks.name} x${ks.threads}, KV f16`,
    };
  } finally {
    await ks.dispose();
  }
}
