/**
 * Mixture-of-experts feed-forward: router logits -> gating (softmax or sigmoid) -> top-k experts
 * (optionally restricted to the best expert groups, and chosen with a selection bias as in
 * DeepSeek-V3) -> optional renormalisation and scaling of the chosen weights -> sum of weighted
 * SwiGLU expert outputs, plus shared experts (optionally sigmoid-gated, qwen2moe).
 * gpt-oss: a router bias, "softmax_weight" gating (top-k by raw logit, softmax over the chosen),
 * biases on each expert's gate/up/down products and the clamped SwiGLU (swiglu_oai).
 * Tokens are grouped per expert so each expert's matrices run as one batched product.
 */
import type { MoeConfig } from "../arch/config.js";
import type { MoeWeights } from "../bind.js";
import { expertSlice, type Weight } from "../weights.js";
import { swiglu } from "./ffn.js";
import type { BlockOps } from "./ops.js";

const f = Math.fround;

/** Chosen experts and their weights for one token's router logits. */
export function route(
  m: MoeConfig,
  logits: Float32Array,
  bias: Float32Array | undefined,
): { ids: number[]; w: number[] } {
  const n = m.nExperts;
  const probs = new Float32Array(n);
  if (m.gating === "softmax_weight") {
    probs.set(logits.subarray(0, n));
  } else if (m.gating === "softmax") {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += probs[i] = f(Math.exp(logits[i] - max));
    const inv = f(1 / sum);
    for (let i = 0; i < n; i++) probs[i] = f(probs[i] * inv);
  } else {
    for (let i = 0; i < n; i++) probs[i] = f(1 / f(1 + f(Math.exp(-logits[i]))));
  }
  // Selection scores: probs plus the (DeepSeek-V3) bias; weights still come from probs.
  const sel = Float32Array.from(probs, (p, i) => (bias ? f(p + bias[i]) : p));
  if (m.nGroups > 1 && m.nGroupsUsed > 0 && m.nGroupsUsed < m.nGroups) maskGroups(m, sel);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => sel[b] - sel[a] || a - b);
  const ids = order.slice(0, m.nUsed);
  let w = ids.map((i) => probs[i]);
  if (m.gating === "softmax_weight") {
    // ggml_soft_max over the k chosen logits: expf per value, double sum, times (float)(1 / sum).
    let max = -Infinity;
    for (const x of w) max = Math.max(max, x);
    let sum = 0;
    w = w.map((x) => {
      const e = f(Math.exp(f(x - max)));
      sum += e;
      return e;
    });
    const inv = f(1 / sum);
    w = w.map((x) => f(x * inv));
  }
  if (m.normTopK) {
    let s = 0;
    for (const x of w) s = f(s + x);
    w = w.map((x) => f(x / s));
  }
  if (m.weightsScale !== 1) w = w.map((x) => f(x * m.weightsScale));
  return { ids, w };
}

/** Keep only experts in the nGroupsUsed groups whose top-2 selection scores sum highest. */
function maskGroups(m: MoeConfig, sel: Float32Array): void {
  const per = m.nExperts / m.nGroups;
  const groupScore: number[] = [];
  for (let g = 0; g < m.nGroups; g++) {
    const s = Array.from(sel.subarray(g * per, (g + 1) * per)).sort((a, b) => b - a);
    groupScore.push(f(s[0] + (s[1] ?? 0)));
  }
  const keep = new Set(
    groupScore
      .map((s, g) => [s, g] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, m.nGroupsUsed)
      .map(([, g]) => g),
  );
  for (let i = 0; i < m.nExperts; i++) if (!keep.has(Math.floor(i / per))) sel[i] = -Infinity;
}

/** x: [nTok, nEmbd] -> out: [nTok, nEmbd]. */
export function moeFfn(
  ops: BlockOps,
  m: MoeConfig,
  w: MoeWeights,
  x: Float32Array,
  nTok: number,
  nEmbd: number,
  out: Float32Array,
): void {
  const logits = new Float32Array(nTok * m.nExperts);
  ops.matmul(w.gateInp, x, nTok, logits);
  if (w.gateInpBias)
    for (let t = 0; t < nTok; t++)
      for (let e = 0; e < m.nExperts; e++)
        logits[t * m.nExperts + e] = f(logits[t * m.nExperts + e] + w.gateInpBias[e]);
  // expert -> [(token, slot, weight)]; slot = rank of the expert in the token's top-k.
  const byExpert = new Map<number, { t: number; j: number; w: number }[]>();
  let k = 0;
  for (let t = 0; t < nTok; t++) {
    const r = route(m, logits.subarray(t * m.nExperts, (t + 1) * m.nExperts), w.expProbsBias);
    k = Math.max(k, r.ids.length);
    r.ids.forEach((e, j) => {
      if (!byExpert.has(e)) byExpert.set(e, []);
      byExpert.get(e)!.push({ t, j, w: r.w[j] });
    });
  }
  // Weighted expert outputs per (token, slot) [nTok][k][nEmbd], summed in slot order afterwards as
  // llama.cpp's graph adds the top-k views (((s0 + s1) + s2) ..).
  const slots = new Float32Array(nTok * k * nEmbd);
  for (const [e, list] of byExpert) {
    const xe = new Float32Array(list.length * nEmbd);
    list.forEach((it, i) => xe.set(x.subarray(it.t * nEmbd, (it.t + 1) * nEmbd), i * nEmbd));
    const ye = new Float32Array(list.length * nEmbd);
    const mats = w.onDemand
      ? w.onDemand.cache.get(w.onDemand.layer, e)
      : { gate: expertSlice(w.gateExps, e), up: expertSlice(w.upExps, e), down: expertSlice(w.downExps, e) };
    const ffn = { ...mats, fused: false };
    // Expert products are ggml mul_mat_id (vecOrder: a reference set orders them as vec_dot).
    if (m.act === "silu" && !w.gateExpsBias && !w.upExpsBias && !w.downExpsBias)
      swiglu(ops, ffn, xe, list.length, ye, true);
    else biasedExpert(ops, m, w, e, ffn, xe, list.length, nEmbd, ye);
    list.forEach((it, i) => {
      const o = (it.t * k + it.j) * nEmbd;
      for (let d = 0; d < nEmbd; d++) slots[o + d] = f(ye[i * nEmbd + d] * it.w);
    });
  }
  for (let t = 0; t < nTok; t++) {
    for (let d = 0; d < nEmbd; d++) {
      let s = slots[t * k * nEmbd + d];
      for (let j = 1; j < k; j++) s = f(s + slots[(t * k + j) * nEmbd + d]);
      out[t * nEmbd + d] = s;
    }
  }
  if (w.shared) {
    const ys = new Float32Array(nTok * nEmbd);
    swiglu(ops, w.shared, x, nTok, ys);
    let gate: Float32Array | undefined;
    if (w.sharedGate) {
      gate = new Float32Array(nTok);
      ops.matmul(w.sharedGate, x, nTok, gate);
    }
    for (let t = 0; t < nTok; t++) {
      const g = gate ? f(1 / f(1 + f(Math.exp(-gate[t])))) : 1;
      for (let d = 0; d < nEmbd; d++) out[t * nEmbd + d] += f(ys[t * nEmbd + d] * g);
    }
  }
}

/** gpt-oss's clamped SwiGLU (ggml swiglu_oai, alpha 1.702, limit 7), scalar expf as ggml runs it. */
const OAI_ALPHA = f(1.702);
const OAI_LIMIT = 7;
export function swigluOai(g: number, u: number): number {
  const x = Math.min(g, OAI_LIMIT);
  const y = Math.min(Math.max(u, -OAI_LIMIT), OAI_LIMIT);
  const glu = f(x / f(1 + f(Math.exp(f(OAI_ALPHA * -x)))));
  return f(glu * f(y + 1));
}

/**
 * One expert over its tokens, with per-expert biases after each product (ggml_add_id) and the
 * family's activation: up = W_up x + b_up, g = W_gate x + b_gate, h = act(g, up),
 * out = W_down h + b_down. x: [nTok][nEmbd] -> out: [nTok][nEmbd].
 */
function biasedExpert(
  ops: BlockOps,
  m: MoeConfig,
  w: MoeWeights,
  e: number,
  ffn: { gate: Weight; up: Weight; down: Weight },
  x: Float32Array,
  nTok: number,
  nEmbd: number,
  out: Float32Array,
): void {
  const F = m.nFFExp;
  const g = new Float32Array(nTok * F);
  const u = new Float32Array(nTok * F);
  ops.matmul(ffn.gate, x, nTok, g, nEmbd, F, true);
  ops.matmul(ffn.up, x, nTok, u, nEmbd, F, true);
  addRow(g, nTok, F, w.gateExpsBias, e);
  addRow(u, nTok, F, w.upExpsBias, e);
  if (m.act === "swiglu_oai") for (let i = 0; i < nTok * F; i++) u[i] = swigluOai(g[i], u[i]);
  else for (let t = 0; t < nTok; t++) ops.siluMul(g, t * F, u, t * F, u, t * F, F);
  ops.matmul(ffn.down, u, nTok, out, F, nEmbd, true);
  addRow(out, nTok, nEmbd, w.downExpsBias, e);
}

/** y[t][i] += b[e][i] for t < nTok (b: [nExperts][width]; absent: nothing). */
function addRow(y: Float32Array, nTok: number, width: number, b: Float32Array | undefined, e: number): void {
  if (!b) return;
  for (let t = 0; t < nTok; t++)
    for (let i = 0; i < width; i++) y[t * width + i] = f(y[t * width + i] + b[e * width + i]);
}
