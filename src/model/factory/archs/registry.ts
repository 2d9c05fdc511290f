/** Architecture name -> test-model builder. The only place that maps names to builders. */
import { ModelError } from "../../../errors.js";
import { llama } from "./llama.js";
import { qwen2, qwen3, qwen2moe, qwen3moe } from "./qwen.js";
import { deepseek2 } from "./deepseek2.js";
import { phi3 } from "./phi3.js";
import { gemma2, gemma3 } from "./gemma.js";
import { lfm2 } from "./lfm2.js";
import { qwen35, qwen35moe, qwen3next } from "./qwen35.js";
import { gptOss } from "./gpt-oss.js";
import type { FactoryArch } from "./plan.js";

export const FACTORY_ARCHS: ReadonlyMap<string, FactoryArch> = new Map([
  ["llama", llama],
  ["qwen2", qwen2],
  ["qwen3", qwen3],
  ["qwen2moe", qwen2moe],
  ["qwen3moe", qwen3moe],
  ["deepseek2", deepseek2],
  ["phi3", phi3],
  ["gemma2", gemma2],
  ["gemma3", gemma3],
  ["lfm2", lfm2],
  ["qwen35", qwen35],
  ["qwen35moe", qwen35moe],
  ["qwen3next", qwen3next],
  ["gpt-oss", gptOss],
  // smollm3: the llama layout (its NoPE layers are a rule of the loader, not of the file).
  ["smollm3", llama],
]);

export function factoryArch(name: string): FactoryArch {
  const a = FACTORY_ARCHS.get(name);
  if (!a) {
    throw new ModelError(`test-model factory has no architecture '${name}'`, {
      field: "arch",
      hint: `known: ${[...FACTORY_ARCHS.keys()].join(", ")}`,
    });
  }
  return a;
}
