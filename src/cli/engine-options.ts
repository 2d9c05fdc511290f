/**
 * The one place CLI flags become engine load options (LoadLLMOptions), for run (chat turn and
 * --strategy), chat, serve and eval, so no command can forget or mis-check one:
 *   --kernels wasm|ts   --threads <n>   --max-memory <size>   --experts <placement>   --weights <placement>
 *   --ctx-size <n>
 *   --kv-type / --cache-type-k / --cache-type-v / --no-kv-rotate / --kv-evict / --kv-budget (kv-options.ts)
 *   --lora <file[:scale]> (lora-options.ts)
 *   --draft <gguf> / --draft-max <n> / --lookup / --draft-layers <k> / --draft-p-min <p> (speculative-options.ts)
 * Every flag is validated here: a bad value is an InputError naming the flag (exit 1), before
 * any model is read. What a command sets itself (parallel, progress, kvBlocks) it adds on top.
 */
import { InputError } from "../errors.js";
import type { LoadLLMOptions } from "../engine/llm.js";
import { evictionOption, kvTypeOptions, type KVTypeCliOptions } from "./kv-options.js";
import { loraSpecs, type LoraCliOptions } from "./lora-options.js";
import { expertsOption, maxMemoryOption, weightsOption } from "./memory-options.js";
import { speculativeOptions, type SpeculativeCliOptions } from "./speculative-options.js";

export interface EngineCliOptions extends LoraCliOptions, KVTypeCliOptions, SpeculativeCliOptions {
  kernels?: string;
  threads?: string;
  maxMemory?: string;
  experts?: string;
  weights?: string;
  streamCache?: string;
  ctxSize?: string;
}

export function parsePositiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InputError(`${name} must be a positive integer, got '${v}'`);
  return n;
}

export function parseKernels(kind: string | undefined): "wasm" | "ts" | undefined {
  if (kind === undefined || kind === "wasm" || kind === "ts") return kind;
  throw new InputError(`--kernels must be wasm or ts, got '${kind}'`, { field: "kernels" });
}

export function parseThreads(threads: string | undefined): number | undefined {
  return threads === undefined ? undefined : parsePositiveInt("--threads", threads);
}

export function engineOptions(o: EngineCliOptions): LoadLLMOptions {
  return {
    kernels: parseKernels(o.kernels),
    threads: parseThreads(o.threads),
    maxMemory: maxMemoryOption(o),
    ...expertsOption(o),
    ...weightsOption(o),
    ...(o.streamCache ? { streamCache: o.streamCache } : {}),
    contextSize: o.ctxSize === undefined ? undefined : parsePositiveInt("--ctx-size", o.ctxSize),
    ...kvTypeOptions(o),
    ...evictionOption(o),
    lora: loraSpecs(o),
    ...speculativeOptions(o),
  };
}
