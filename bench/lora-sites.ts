/**
 * LoRA decode cost per product site (issue 21): one token's q/k/v (norm fused), wo, gate/up (norm
 * fused) and down products, each called over every layer in turn (so weights and adapter come
 * from memory as in decode, not from cache), without and with the adapter's low-rank deltas
 * (ks.normMatmul / ks.matmulMany `deltas`, as forward.ts passes them), the two sides alternating
 * per round. Prints each site's median time per layer and the sum over sites. Per-site figures
 * say where an adapter's time goes; lora-overhead.ts is the whole-step figure.
 *   node dist/bench/lora-sites.js <model.gguf> <adapter.gguf> [threads=2] [rounds=24]
 */
import { enableRelaxedSimd } from "../src/platform/relaxed-simd-node.js";
import { createWasmKernelSet } from "../src/kernels/wasm/wasm-kernel-set.js";
import { loadLoraAdapter, loadModel } from "../src/model/index.js";
import { loraDeltas, type LoraGroup } from "../src/model/lora.js";
import type { Weight } from "../src/model/weights.js";

const [path, adapterPath, thr = "2", rs = "24"] = process.argv.slice(2);
if (!path || !adapterPath) {
  console.error("usage: lora-sites.js <model.gguf> <adapter.gguf> [threads] [rounds]");
  process.exit(2);
}
enableRelaxedSimd();
const ks = await createWasmKernelSet({ threads: Number(thr) });
const m = await loadModel(path, { kernels: ks });
const adapter = await loadLoraAdapter(adapterPath, m, "a");
const groups: LoraGroup[] = [{ refs: [{ adapter, scale: 1 }], rows: [0] }];
const E = m.config.nEmbd;
const F = m.config.nFF;
const x = ks.alloc(E);
for (let i = 0; i < E; i++) x[i] = Math.sin(i) * 0.5;
const xf = ks.alloc(F);
for (let i = 0; i < F; i++) xf[i] = Math.cos(i) * 0.3;
const outs = [ks.alloc(Math.max(E, F)), ks.alloc(Math.max(E, F)), ks.alloc(Math.max(E, F))];
const L = m.weights.layers;

type Site = (l: number) => { ws: Weight[]; norm?: Float32Array; x: Float32Array } | undefined;
const sites: Record<string, Site> = {
  qkv: (l) => {
    const a = L[l]!.attn;
    return a?.wq && a.wk && a.wv ? { ws: [a.wq, a.wk, a.wv], norm: L[l]!.attnNorm, x } : undefined;
  },
  wo: (l) => (L[l]!.attn ? { ws: [L[l]!.attn!.wo], x } : undefined),
  gate_up: (l) => {
    const f = L[l]!.ffn;
    return f?.gate && f.up ? { ws: [f.gate, f.up], norm: L[l]!.ffnNorm, x } : undefined;
  },
  down: (l) => (L[l]!.ffn ? { ws: [L[l]!.ffn!.down], x: xf } : undefined),
};

function call(s: NonNullable<ReturnType<Site>>, lora: boolean): void {
  const pws = s.ws.map((w) => w.kernel!.pw);
  const ys = s.ws.map((w, i) => outs[i]!.subarray(0, w.rows));
  const xs = s.x.subarray(0, s.ws[0]!.cols);
  const d = lora ? loraDeltas(s.ws, groups, 1) : undefined;
  if (s.norm) ks.normMatmul(xs, m.kernelVec(s.norm), m.config.rmsEps, pws, 1, ys, undefined, d);
  else ks.matmulMany(pws, xs, 1, ys, d);
}

const names = Object.keys(sites);
const T: Record<string, { base: number[]; lora: number[] }> = {};
for (const n of names) T[n] = { base: [], lora: [] };
for (let r = 0; r < Number(rs); r++)
  for (const lora of r % 2 ? [true, false] : [false, true])
    for (let l = 0; l < L.length; l++)
      for (const n of names) {
        const s = sites[n]!(l);
        if (!s) continue;
        const t0 = performance.now();
        call(s, lora);
        T[n]![lora ? "lora" : "base"].push((performance.now() - t0) * 1000);
      }
const signed = (v: number, d: number) => `${v >= 0 ? "+" : ""}${v.toFixed(d)}`;
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1] ?? 0;
let sb = 0;
let sl = 0;
console.log(`${ks.name} x${thr}, ${rs} rounds over ${L.length} layers, medians in us per layer`);
for (const n of names) {
  const b = med(T[n]!.base);
  const l = med(T[n]!.lora);
  sb += b;
  sl += l;
  console.log(
    `${n.padEnd(8)} base ${b.toFixed(1).padStart(7)}  LoRA ${l.toFixed(1).padStart(7)}  ${signed(l - b, 1)}`,
  );
}
console.log(
  `sites per layer: base ${sb.toFixed(0)} us, LoRA ${sl.toFixed(0)} us (${signed((100 * (sl - sb)) / sb, 1)}%)`,
);
await ks.dispose();
process.exit(0);
