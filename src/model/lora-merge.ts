/**
 * Merge a LoRA adapter into its base: W' = W + scale_eff * B A per adapted matrix (dequantized to
 * f32, the delta summed in f64 per element, re-encoded), every other tensor and all metadata copied
 * as they are. For users who want one file; the runtime itself never merges (forward.ts applies
 * B(A x) beside the untouched quantized W).
 *   W [rows][cols], A [rank][cols] (GGUF dims [cols, rank]), B [rows][rank] (dims [rank, rows]).
 */
import { InputError } from "../errors.js";
import { copyMetadata } from "../gguf/copy.js";
import { openGGUF } from "../gguf/reader.js";
import { GGMLType, ggmlTypeName, ggmlTypeTraits } from "../gguf/types.js";
import { GGUFWriter } from "../gguf/writer.js";
import { canQuantize, dequantizeRows, quantizeRows } from "../quant/index.js";
import { loadFromFile } from "./index.js";
import { readLoraAdapter } from "./lora.js";

export interface MergeOptions {
  /** User scale (default 1); effective = scale * alpha / rank as at runtime. */
  scale?: number;
  /** Type of the merged matrices (default: each base matrix's own type). */
  type?: GGMLType;
  onTensor?: (name: string, merged: boolean) => void;
}

export async function mergeLora(
  basePath: string,
  adapterPath: string,
  outPath: string,
  opts: MergeOptions = {},
): Promise<{ merged: number; copied: number }> {
  const scale = opts.scale ?? 1;
  if (!Number.isFinite(scale)) throw new InputError(`scale must be a finite number, got ${scale}`);
  if (opts.type !== undefined && !canQuantize(opts.type))
    throw new InputError(`no encoder for type ${ggmlTypeName(opts.type)}`, { field: "--type" });
  const base = await openGGUF(basePath);
  const af = await openGGUF(adapterPath);
  try {
    // Validate against the bound base (names, shapes), exactly as loading it at runtime does.
    const adapter = readLoraAdapter(af, loadFromFile(base), adapterPath);
    const w = new GGUFWriter();
    copyMetadata(base, w);
    let merged = 0;
    let copied = 0;
    for (const t of base.tensors) {
      const lt = adapter.tensors.get(t.name);
      if (!lt) {
        copied++;
        w.addTensor(t.name, t.type, t.dims, async () => {
          opts.onTensor?.(t.name, false);
          return base.readTensor(t);
        });
        continue;
      }
      const type = opts.type ?? t.type;
      if (!canQuantize(type))
        throw new InputError(`cannot re-encode '${t.name}' as ${ggmlTypeName(type)}`, {
          hint: "pass --type f16 or q8_0",
        });
      if (t.dims[0]! % ggmlTypeTraits(type).blockSize !== 0)
        throw new InputError(`'${t.name}' rows of ${t.dims[0]} do not fit ${ggmlTypeName(type)} blocks`);
      merged++;
      w.addTensor(t.name, type, t.dims, async () => {
        const [cols, rows] = [t.dims[0]!, t.dims[1]!];
        const R = lt.rank;
        const W = dequantizeRows(t.type, await base.readTensor(t), t.nElements);
        const A = dequantizeRows(lt.a.type, lt.a.data, cols * R);
        const B = dequantizeRows(lt.b.type, lt.b.data, R * rows);
        const s = adapter.bScale(lt, scale);
        const acc = new Float64Array(cols);
        for (let r = 0; r < rows; r++) {
          acc.fill(0);
          for (let k = 0; k < R; k++) {
            const b = B[r * R + k];
            if (b === 0) continue;
            for (let c = 0, o = k * cols; c < cols; c++) acc[c] += b * A[o + c];
          }
          for (let c = 0; c < cols; c++) W[r * cols + c] += s * acc[c];
        }
        opts.onTensor?.(t.name, true);
        return type === GGMLType.F32 ? new Uint8Array(W.buffer) : quantizeRows(type, W, cols);
      });
    }
    await w.write(outPath);
    return { merged, copied };
  } finally {
    await af.close();
    await base.close();
  }
}
