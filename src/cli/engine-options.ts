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
import type { Command } from "commander";
import { InputError } from "../errors.js";
import type { LoadLLMOptions } from "../engine/llm.js";
import {
  evictionOption,
  kvTypeOptions,
  KV_BUDGET_FLAG,
  KV_BUDGET_HELP,
  KV_EVICT_FLAG,
  KV_EVICT_HELP,
  KV_ROTATE_HELP,
  SWA_FULL_HELP,
  type KVTypeCliOptions,
} from "./kv-options.js";
import { loraSpecs, type LoraCliOptions } from "./lora-options.js";
import {
  EXPERTS_FLAG,
  EXPERTS_HELP,
  expertsOption,
  MAX_MEMORY_FLAG,
  MAX_MEMORY_HELP,
  maxMemoryOption,
  STREAM_CACHE_FLAG,
  STREAM_CACHE_HELP,
  WEIGHTS_FLAG,
  WEIGHTS_HELP,
  weightsOption,
} from "./memory-options.js";
import {
  DRAFT_LAYERS_FLAG,
  DRAFT_LAYERS_HELP,
  DRAFT_P_MIN_FLAG,
  DRAFT_P_MIN_HELP,
  speculativeOptions,
  type SpeculativeCliOptions,
} from "./speculative-options.js";

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

/**
 * Declares the engine flags chat and serve share, in their help order: --kernels, --threads,
 * memory and placement, KV types and eviction, speculative decoding, --swa-full. (--ctx-size and
 * --lora stay with each command: their help or position differs; run and eval take their own.)
 */
export function addEngineOptions(cmd: Command): Command {
  return cmd
    .option("--kernels <kind>", "wasm or ts", "wasm")
    .option("--threads <n>", "threads for the WASM kernels")
    .option(MAX_MEMORY_FLAG, MAX_MEMORY_HELP)
    .option(EXPERTS_FLAG, EXPERTS_HELP)
    .option(WEIGHTS_FLAG, WEIGHTS_HELP)
    .option(STREAM_CACHE_FLAG, STREAM_CACHE_HELP)
    .option("--kv-type <type>", "KV cache type for K and V: f32, f16, q8_0, q4_0 (default f32)")
    .option("--cache-type-k <type>", "K cache type (overrides --kv-type)")
    .option("--cache-type-v <type>", "V cache type (overrides --kv-type)")
    .option("--no-kv-rotate", KV_ROTATE_HELP)
    .option(KV_EVICT_FLAG, KV_EVICT_HELP)
    .option(KV_BUDGET_FLAG, KV_BUDGET_HELP)
    .option("--draft <gguf>", "speculative decoding with this draft model (same vocabulary as the model)")
    .option("--draft-max <n>", "most tokens drafted per step (default 8)")
    .option("--lookup", "speculative decoding by prompt lookup (n-gram drafts from the context)")
    .option(DRAFT_LAYERS_FLAG, DRAFT_LAYERS_HELP)
    .option(DRAFT_P_MIN_FLAG, DRAFT_P_MIN_HELP)
    .option("--swa-full", SWA_FULL_HELP);
}
