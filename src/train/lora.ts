/**
 * LoRA training on a frozen base (LlamaTrainModel): per target matrix W (out, in) two trainable
 * matrices, row-major like the base's params:
 *   A (r, in)  = GGUF `<W>.lora_a` dims [in, r]      B (out, r) = GGUF `<W>.lora_b` dims [r, out]
 *   y = x W^T + s (x A^T) B^T,  s = alpha / r  (llama.cpp's scale at user scale 1)
 * Backward, with t = x A^T saved from the forward pass and g = s dy:
 *   dB += g^T t,  dt = g B,  dA += dt^T x,  dx += dt A   (dx also gets dy W from the base)
 * The base is frozen: the model's backward skips its weight gradients (model/llama.ts) and only
 * `params` here go to the optimizer. Init as PEFT: A ~ N(0, 1/in), B = 0 (the adapter starts as
 * the identity). `writeLoraAdapter` exports a GGUF that llama.cpp and model/lora.ts load.
 */
import { InputError } from "../errors.js";
import { GGMLType } from "../gguf/types.js";
import { GGUFValueType, typed } from "../gguf/value.js";
import { GGUFWriter } from "../gguf/writer.js";
import { allocFrom, type Alloc, type Buf, type BufCtor } from "./ops/buf.js";
import { matmulBackward, matmulForward } from "./ops/matmul.js";
import { paramLayout, type ParamEntry } from "./model/params.js";
import { openGGUF } from "../gguf/reader.js";
import { optNumber, optString } from "../gguf/getters.js";
import { dequantizeRows } from "../quant/index.js";
import { ModelError } from "../errors.js";
import { headDim, type TrainModelConfig } from "./model/config.js";
import type { Rng } from "../sampling/rng.js";

export const LORA_TRAIN_KINDS = [
  "attn_q",
  "attn_k",
  "attn_v",
  "attn_output",
  "ffn_gate",
  "ffn_up",
  "ffn_down",
] as const;

export interface LoraTrainOptions {
  rank: number;
  /** Default = rank (scale 1). */
  alpha?: number;
  /** Matrix kinds (default all of LORA_TRAIN_KINDS). */
  targets?: readonly string[];
}

interface Target {
  a: ParamEntry; // (r, in)
  b: ParamEntry; // (out, r)
  in: number;
  out: number;
}

export class LoraParams {
  readonly params: Buf;
  readonly grads: Buf;
  readonly entries: ParamEntry[] = [];
  readonly rank: number;
  readonly alpha: number;
  readonly scale: number;
  private readonly targets = new Map<string, Target>();
  /** x A^T of the last forward per target (N, r). */
  private readonly saved = new Map<string, Buf>();
  private readonly alloc: Alloc;

  constructor(
    readonly cfg: TrainModelConfig,
    opts: LoraTrainOptions,
    ctor: BufCtor | Alloc = Float32Array,
  ) {
    const r = opts.rank;
    if (!Number.isInteger(r) || r < 1)
      throw new InputError(`LoRA rank must be a positive integer, got ${r}`, { field: "rank" });
    this.rank = r;
    this.alpha = opts.alpha ?? r;
    if (!Number.isFinite(this.alpha) || this.alpha === 0)
      throw new InputError(`LoRA alpha must be a non-zero number, got ${this.alpha}`, { field: "alpha" });
    this.scale = this.alpha / r;
    const kinds = new Set(opts.targets ?? LORA_TRAIN_KINDS);
    for (const k of kinds)
      if (!(LORA_TRAIN_KINDS as readonly string[]).includes(k))
        throw new InputError(`unknown LoRA target '${k}'`, {
          field: "targets",
          hint: LORA_TRAIN_KINDS.join(", "),
        });
    const C = cfg.dim;
    const hd = headDim(cfg);
    const qW = cfg.heads * hd;
    const kW = cfg.kvHeads * hd;
    const shapes: Record<string, [number, number]> = {
      attn_q: [qW, C],
      attn_k: [kW, C],
      attn_v: [kW, C],
      attn_output: [C, qW],
      ffn_gate: [cfg.ffn, C],
      ffn_up: [cfg.ffn, C],
      ffn_down: [C, cfg.ffn],
    };
    let offset = 0;
    const add = (name: string, shape: number[]): ParamEntry => {
      const size = shape[0] * shape[1];
      const e = { name, shape, offset, size, decay: false };
      this.entries.push(e);
      offset += size;
      return e;
    };
    for (let l = 0; l < cfg.layers; l++)
      for (const k of LORA_TRAIN_KINDS) {
        if (!kinds.has(k)) continue;
        const name = `blk.${l}.${k}.weight`;
        const [out, inp] = shapes[k];
        this.targets.set(name, {
          a: add(`${name}.lora_a`, [r, inp]),
          b: add(`${name}.lora_b`, [out, r]),
          in: inp,
          out,
        });
      }
    this.alloc = allocFrom(ctor);
    this.params = this.alloc(offset);
    this.grads = this.alloc(offset);
  }

  /** PEFT's init: A ~ N(0, 1/in), B = 0. */
  init(rng: Rng): void {
    for (const t of this.targets.values()) {
      const std = 1 / Math.sqrt(t.in);
      for (let i = 0; i < t.a.size; i++) this.params[t.a.offset + i] = rng.normal() * std;
      this.params.fill(0, t.b.offset, t.b.offset + t.b.size);
    }
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  private view(buf: Buf, e: ParamEntry): Buf {
    return buf.subarray(e.offset, e.offset + e.size);
  }

  /** out (N, O) += s (inp A^T) B^T for target `name` (no-op for others). */
  forward(name: string, out: Buf, inp: Buf, N: number): void {
    const t = this.targets.get(name);
    if (!t) return;
    const r = this.rank;
    let xa = this.saved.get(name);
    if (!xa || xa.length !== N * r) this.saved.set(name, (xa = this.alloc(N * r)));
    matmulForward(xa, inp, this.view(this.params, t.a), N, t.in, r);
    const d = this.alloc(N * t.out);
    matmulForward(d, xa, this.view(this.params, t.b), N, r, t.out);
    for (let i = 0; i < N * t.out; i++) out[i] += this.scale * d[i];
  }

  /** Gradients of target `name` from dout (N, O); dinp (N, I) += the adapter's share. */
  backward(name: string, dinp: Buf | null, dout: Buf, inp: Buf, N: number): void {
    const t = this.targets.get(name);
    if (!t) return;
    const r = this.rank;
    const g = this.alloc(N * t.out);
    for (let i = 0; i < g.length; i++) g[i] = this.scale * dout[i];
    const dt = this.alloc(N * r);
    matmulBackward(
      dt,
      this.view(this.grads, t.b),
      g,
      this.saved.get(name)!,
      this.view(this.params, t.b),
      N,
      r,
      t.out,
    );
    matmulBackward(dinp, this.view(this.grads, t.a), dt, inp, this.view(this.params, t.a), N, t.in, r);
  }

  /** A GGUF adapter in llama.cpp's format (F32 A/B). */
  toGGUF(name = "edgellm-lora"): GGUFWriter {
    const w = new GGUFWriter();
    w.set("general.architecture", "llama");
    w.set("general.type", "adapter");
    w.set("general.name", name);
    w.set("adapter.type", "lora");
    w.set("adapter.lora.alpha", typed(GGUFValueType.FLOAT32, this.alpha));
    for (const [tn, t] of this.targets) {
      const bytes = (e: ParamEntry) => new Uint8Array(Float32Array.from(this.view(this.params, e)).buffer);
      w.addTensor(`${tn}.lora_a`, GGMLType.F32, [t.in, this.rank], bytes(t.a));
      w.addTensor(`${tn}.lora_b`, GGMLType.F32, [this.rank, t.out], bytes(t.b));
    }
    return w;
  }
}

export async function writeLoraAdapter(path: string, lp: LoraParams, name?: string): Promise<void> {
  await lp.toGGUF(name).write(path);
}

/**
 * A llama GGUF as the frozen base of a LoRA run: its config and F32 params in the training
 * layout (tensor names are the layout's; GGUF dims reversed are its row-major shapes). Quantized
 * tensors (Q8_0, Q4_0, ...) are dequantized once here (QLoRA-style: the adapter learns on top of
 * exactly the weights the quantized model computes with).
 */
export async function loadTrainBase(
  path: string,
): Promise<{ config: TrainModelConfig; params: Float32Array }> {
  const f = await openGGUF(path);
  try {
    const md = f.metadata;
    const arch = optString(md, "general.architecture");
    if (arch !== "llama")
      throw new ModelError(`LoRA training supports llama models, not '${arch}'`, {
        file: path,
        field: "general.architecture",
      });
    const num = (k: string, def?: number) => {
      const v = optNumber(md, `llama.${k}`) ?? def;
      if (v === undefined) throw new ModelError(`missing 'llama.${k}'`, { file: path, field: `llama.${k}` });
      return v;
    };
    const emb = f.tensorByName("token_embd.weight");
    if (!emb)
      throw new ModelError("missing tensor 'token_embd.weight'", { file: path, field: "token_embd.weight" });
    const config: TrainModelConfig = {
      vocab: emb.dims[1]!,
      dim: num("embedding_length"),
      layers: num("block_count"),
      heads: num("attention.head_count"),
      kvHeads: num("attention.head_count_kv", num("attention.head_count")),
      ffn: num("feed_forward_length"),
      ctx: num("context_length"),
      ropeBase: num("rope.freq_base", 10000),
      normEps: num("attention.layer_norm_rms_epsilon"),
      tied: !f.tensorByName("output.weight"),
    };
    const rd = optNumber(md, "llama.rope.dimension_count");
    if (rd !== undefined && rd !== headDim(config))
      throw new ModelError(`partial RoPE (${rd} of ${headDim(config)}) is not supported in training`, {
        file: path,
        field: "llama.rope.dimension_count",
      });
    const layout = paramLayout(config);
    const params = new Float32Array(layout.total);
    for (const e of layout.entries) {
      const t = f.tensorByName(e.name);
      if (!t) throw new ModelError(`missing tensor '${e.name}'`, { file: path, field: e.name });
      const want = [...e.shape].reverse();
      if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i]))
        throw new ModelError(`tensor '${e.name}' has dims [${t.dims}], expected [${want}]`, {
          file: path,
          field: e.name,
        });
      params.set(dequantizeRows(t.type, await f.readTensor(t), t.nElements), e.offset);
    }
    return { config, params };
  } finally {
    await f.close();
  }
}
