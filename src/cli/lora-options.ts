/**
 * `--lora <file[:scale]>` (repeatable) on run, chat and serve, as llama.cpp's `--lora` /
 * `--lora-scaled`: each adapter is loaded with the model and applied at its scale (default 1).
 * serve also takes `--lora-dir <folder>`: the only place POST /lora-adapters may load files from.
 */
import { InputError } from "../errors.js";
import type { LoraSpec } from "../engine/lora-registry.js";

export interface LoraCliOptions {
  lora?: string[];
}

/** commander pieces: `.option(LORA_FLAG, LORA_HELP, collectLora)`. */
export const LORA_FLAG = "--lora <file[:scale]>";
export const LORA_HELP = "LoRA adapter GGUF applied at scale (default 1); repeatable";
export const collectLora = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** "a.gguf" -> {path, scale 1}; "a.gguf:0.5" -> scale 0.5 (a suffix that is no number stays in the path). */
export function parseLoraFlag(s: string): LoraSpec {
  const i = s.lastIndexOf(":");
  if (i > 0) {
    const tail = s.slice(i + 1);
    if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(tail)) {
      const scale = Number(tail);
      if (!Number.isFinite(scale))
        throw new InputError(`--lora ${s}: scale '${tail}' is not a finite number`);
      return { path: s.slice(0, i), scale };
    }
  }
  if (s.length === 0) throw new InputError("--lora needs a file");
  return { path: s, scale: 1 };
}

export function loraSpecs(o: LoraCliOptions): LoraSpec[] {
  return (o.lora ?? []).map(parseLoraFlag);
}
