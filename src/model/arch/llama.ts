/**
 * llama: Llama 2/3, Mistral, TinyLlama, SmolLM, and Mixtral (same arch name; the MoE layout is
 * chosen per layer by the presence of `ffn_gate_inp`). RoPE NORMAL ordering, because the GGUF
 * converter permutes q/k rows into interleaved pairs. Llama-3 frequency scaling arrives as the
 * `rope_freqs.weight` tensor (per-pair divisors), bound when present.
 */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

// Mixtral renormalises its top-2 routing weights (llama.cpp passes norm_w = true for llama).
export const LLAMA: ArchSpec = { ...BASE_SPEC, name: "llama", ropeOrder: "normal", normTopKDefault: true };

/**
 * smollm3 (SmolLM3): llama layers where every 4th layer has no position encoding (NoPE: q and k
 * are not rotated); optional q/k/v/o biases; tied output unless `output.weight` is present.
 */
export const SMOLLM3: ArchSpec = { ...BASE_SPEC, name: "smollm3", ropeOrder: "normal", noRopeEvery: 4 };
