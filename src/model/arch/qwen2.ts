/** qwen2 (Qwen1.5/Qwen2/Qwen2.5): llama block with q/k/v biases and NEOX RoPE ordering. */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

export const QWEN2: ArchSpec = { ...BASE_SPEC, name: "qwen2", ropeOrder: "neox", qkvBias: "required" };
