/**
 * Refusing models that cannot fit: the WASM kernels keep every prepared weight in one wasm32
 * memory, at most 4 GiB (65536 pages of 64 KiB). Sharding weights over several memories is not
 * implemented, so a model whose prepared weights (plus working room for activations and scratch)
 * exceed that is refused with a ModelError computed from the tensor infos alone, before any tensor
 * is read or any memory is grown.
 */
import { ModelError } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import { MAX_PAGES } from "../kernels/wasm/arena.js";
import { packedBytes } from "../kernels/wasm/repack.js";
import { TENSOR } from "./arch/spec.js";

/** The wasm32 memory limit in bytes. */
export const WASM_MEMORY_LIMIT = MAX_PAGES * 65536;
/** Room kept for activations, quantized activation scratch and the runtime's buffers. */
export const WORKING_ROOM = 256 * 1024 * 1024;

/** Bytes the WASM set will hold for this file's matrices (token_embd only when it is also the output). */
export function preparedBytes(file: GGUFFile, ks: KernelSet): number {
  const tied = !file.tensorByName(TENSOR.output);
  let total = 0;
  for (const t of file.tensors) {
    if (t.dims.length < 2 || !ks.supports(t.type)) continue;
    if (t.name === TENSOR.tokenEmbd && !tied) continue;
    const nMat = t.dims.slice(2).reduce((a, b) => a * b, 1);
    total += nMat * packedBytes(t.type, t.dims[1], t.dims[0]);
  }
  return total;
}

export function checkFits(file: GGUFFile, ks: KernelSet): void {
  if (!ks.name.startsWith("wasm")) return;
  const need = preparedBytes(file, ks);
  if (need + WORKING_ROOM > WASM_MEMORY_LIMIT) {
    const gib = (n: number) => (n / 2 ** 30).toFixed(2);
    throw new ModelError(
      `model weights need ${gib(need)} GiB of WebAssembly memory (+${gib(WORKING_ROOM)} GiB working room); one wasm32 memory holds at most ${gib(WASM_MEMORY_LIMIT)} GiB`,
      {
        file: file.path,
        hint: "use a smaller model or a smaller quantization (e.g. Q4_0/Q4_K); weights are not sharded across memories",
      },
    );
  }
}
