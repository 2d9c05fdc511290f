/**
 * The architecture registry: `general.architecture` -> spec. The only `switch (arch)` in the model.
 */
import { ModelError } from "../../errors.js";
import { LLAMA, SMOLLM3 } from "./llama.js";
import { QWEN2 } from "./qwen2.js";
import { QWEN3 } from "./qwen3.js";
import { QWEN2MOE, QWEN3MOE } from "./qwen2moe.js";
import { DEEPSEEK2 } from "./deepseek2.js";
import { PHI3 } from "./phi3.js";
import { GEMMA2, GEMMA3 } from "./gemma.js";
import { LFM2 } from "./lfm2.js";
import { QWEN35, QWEN35MOE, QWEN3NEXT } from "./qwen35.js";
import { GPT_OSS } from "./gpt-oss.js";
import type { ArchSpec } from "./spec.js";

const SPECS: readonly ArchSpec[] = [
  LLAMA,
  QWEN2,
  QWEN3,
  QWEN2MOE,
  QWEN3MOE,
  DEEPSEEK2,
  PHI3,
  GEMMA2,
  GEMMA3,
  LFM2,
  QWEN35,
  QWEN35MOE,
  QWEN3NEXT,
  GPT_OSS,
  SMOLLM3,
];

export function supportedArchitectures(): string[] {
  return SPECS.map((s) => s.name);
}

export function archSpec(name: string): ArchSpec {
  const spec = SPECS.find((s) => s.name === name);
  if (!spec) {
    throw new ModelError(`architecture '${name}' is not supported`, {
      field: "general.architecture",
      hint: `supported: ${supportedArchitectures().join(", ")}`,
    });
  }
  return spec;
}
