/**
 * Shared by `logits` and `run`: open a model file, and turn `-p <text>` (tokenized with the file's
 * own vocabulary, BOS added as the vocabulary asks) or `--tokens 1,2,3` into token ids.
 */
import { InputError } from "../errors.js";
import { parseKernels, parseThreads } from "./engine-options.js";
import { streamLoaderOption } from "./memory-options.js";
import { openGGUF } from "../gguf/reader.js";
import { loadFromFile, type LoadOptions, type Transformer } from "../model/index.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import { createWasmKernelSet } from "../kernels/wasm/wasm-kernel-set.js";

export interface LoadedModel {
  model: Transformer;
  tokenizer: Tokenizer | undefined;
  loadMs: number;
  /** The WASM kernel set (dispose it when done), if one is used. */
  kernels: KernelSet | undefined;
}

/** `--kernels wasm|ts` and `--threads N`. */
export async function makeKernels(kind: string, threads: string | undefined): Promise<KernelSet | undefined> {
  if (parseKernels(kind) === "ts") return undefined;
  const n = parseThreads(threads);
  return createWasmKernelSet(n === undefined ? {} : { threads: n });
}

export async function openModel(
  path: string,
  needTokenizer: boolean,
  kernels?: KernelSet,
  /** Placement options (budget) for the WASM kernels (model/placement.ts). */
  place: Pick<LoadOptions, "maxMemory" | "kvBytesPerLayer" | "experts" | "weights"> & {
    /** The prepared-layout cache of streamed layers (--stream-cache). */
    streamCache?: string;
  } = {},
): Promise<LoadedModel> {
  const t0 = performance.now();
  const file = await openGGUF(path);
  let model: LoadedModel["model"] | undefined;
  try {
    const { streamCache, ...placement } = place;
    model = loadFromFile(file, { kernels, ...placement, ...streamLoaderOption(streamCache) });
    const tokenizer =
      needTokenizer || file.metadata.has("tokenizer.ggml.model")
        ? Tokenizer.fromMetadata(file.metadata)
        : undefined;
    return { model, tokenizer, loadMs: performance.now() - t0, kernels };
  } finally {
    // experts on demand and streamed layers read the file as long as the model runs (they close it)
    if (!model?.openFile) await file.close();
  }
}

export function promptTokens(
  opts: { prompt?: string; tokens?: string },
  tok: Tokenizer | undefined,
): number[] {
  if (opts.tokens !== undefined) {
    const ids = opts.tokens.split(",").map((s) => Number(s.trim()));
    if (ids.length === 0 || ids.some((x) => !Number.isInteger(x) || x < 0)) {
      throw new InputError(`--tokens must be a comma-separated list of token ids, got '${opts.tokens}'`);
    }
    return ids;
  }
  if (opts.prompt === undefined) throw new InputError("give a prompt with -p <text> or --tokens 1,2,3");
  if (!tok) throw new InputError("this file has no tokenizer; use --tokens");
  const ids = tok.encode(opts.prompt, { addSpecial: true, parseSpecial: true });
  if (ids.length === 0) throw new InputError("the prompt tokenized to nothing");
  return ids;
}
