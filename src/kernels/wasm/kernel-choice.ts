/**
 * Which kernel runs each quantized weight type on the relaxed build: the int8-dot kernels
 * (kernels-src/assembly/dot8.ts, int8 activations, the weight in the int8-dot layout) or the i16
 * ones (the SIMD128 kernels, with fused multiply-adds). A weight has one layout, used by its matvec
 * (decode) and its matmul (prefill), so the choice is per type, not per op or shape. This module
 * owns it: the measured default table and its overrides (option `dot8`, env EDGELLM_DOT8).
 */
import { GGMLType, ggmlTypeFromName, ggmlTypeName } from "../../gguf/types.js";
import { KernelError } from "../../errors.js";
import { DOT8_TYPES } from "./repack.js";

/**
 * Types whose weights take the int8-dot layout by default on the relaxed build. Measured with
 * scripts/quant-variants.mjs (every variant of a type in one process, order rotated per round,
 * 1 thread, 11008x4096 so that a matvec streams its weights from DRAM as in decoding; matmul 16
 * tokens x 4096x4096), median of per-round time ratios int8 / SIMD128-i16, Node 20, load average
 * 7-8 on the shared 2-core AVX-512 machine, docs/kernels.md:
 *   matvec / matmul: Q4_0 0.57 / 0.56, Q4_K 0.27 / 0.44, Q5_K 1.99 / 0.68, Q6_K 1.71 / 0.94,
 *   Q8_0 0.63 / 1.19.
 * Where matvec and matmul disagree, matvec decides (decode reads every weight once per token and is
 * the bandwidth-bound step): Q5_K and Q6_K stay on i16 (their int8 matvecs are slower streaming
 * from DRAM). Q8_0 stays on i16 although its int8 matvec is faster: its int8 layout needs the whole
 * tensor before packing (q8_0Dot8Ok scans for -128), so it cannot be loaded in row chunks
 * (takesRowChunks), and its matmul is slower; EDGELLM_DOT8=...,Q8_0 opts in. Q4_1, Q5_0 and Q5_1:
 * int8 1.4-2.6x faster in both (earlier interleaved runs, see git history of this table).
 */
export const DOT8_DEFAULT: ReadonlySet<GGMLType> = new Set([
  GGMLType.Q4_0,
  GGMLType.Q4_K,
  GGMLType.Q4_1,
  GGMLType.Q5_0,
  GGMLType.Q5_1,
]);

/**
 * The types that use the int8-dot layout on a set: `opt` (the `dot8` option) if given, else
 * EDGELLM_DOT8 (Node; "0" none, "1" the default table, or a comma-separated list of type names such
 * as "Q4_K,Q6_K"), else the default table on the relaxed build and none on SIMD128 (where the
 * int8 dots are emulated: correct, slower). `true` means the default table. Types without an
 * int8-dot layout are a KernelError.
 */
export function dot8Types(
  opt: boolean | readonly GGMLType[] | undefined,
  env: string | undefined,
  relaxed: boolean,
): ReadonlySet<GGMLType> {
  const field = opt === undefined ? "EDGELLM_DOT8" : "dot8";
  let list: readonly GGMLType[];
  if (opt === true || (opt === undefined && env === "1")) list = [...DOT8_DEFAULT];
  else if (opt === false || (opt === undefined && env === "0")) list = [];
  else if (Array.isArray(opt)) list = opt;
  else if (opt === undefined && env !== undefined && env.trim() !== "")
    list = env.split(",").map((s) => {
      const t = ggmlTypeFromName(s.trim());
      if (t === undefined)
        throw new KernelError(`unknown weight type '${s.trim()}' in the int8-dot type list`, {
          field,
          hint: `0, 1, or type names among ${[...DOT8_TYPES].map(ggmlTypeName).join(", ")}`,
        });
      return t;
    });
  else list = relaxed ? [...DOT8_DEFAULT] : [];
  for (const t of list)
    if (!DOT8_TYPES.has(t))
      throw new KernelError(`${ggmlTypeName(t)} has no int8-dot kernels`, {
        field,
        hint: `int8-dot types: ${[...DOT8_TYPES].map(ggmlTypeName).join(", ")}`,
      });
  return new Set(list);
}
