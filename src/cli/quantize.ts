/**
 * `edgellm quantize <in.gguf> <out.gguf> --type q4_0|q8_0|q4_k|q6_k|f16|...`: re-encode a model's
 * weights, tensor by tensor (never the whole model as F32), with a progress bar.
 */
import type { Command } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { InputError } from "../errors.js";
import { copyMetadata } from "../gguf/copy.js";
import { openGGUF } from "../gguf/reader.js";
import { type GGMLType, ggmlTypeFromName, ggmlTypeName } from "../gguf/types.js";
import { GGUFWriter } from "../gguf/writer.js";
import { canQuantize, dequantizeRows } from "../quant/index.js";
import { QuantizePool } from "../quant/pool.js";
import { LLAMA_FTYPE, chooseTensorType, parseQuantTarget } from "../quant/policy.js";
import { formatBytes } from "./format.js";

export interface QuantizeResult {
  tensors: number;
  byType: Record<string, number>;
  inBytes: number;
  outBytes: number;
}

export async function quantizeModel(
  inPath: string,
  outPath: string,
  target: GGMLType,
  onProgress?: (done: number, total: number, name: string) => void,
  threads?: number,
  q6Down = false,
): Promise<QuantizeResult> {
  if (!canQuantize(target)) throw new InputError(`no quantizer for type ${ggmlTypeName(target)}`);
  const src = await openGGUF(inPath);
  const pool = new QuantizePool(threads);
  try {
    const w = new GGUFWriter();
    copyMetadata(src, w, (k) => k === "general.file_type" || k === "general.quantization_version");
    w.set("general.quantization_version", 2);
    w.set("general.file_type", LLAMA_FTYPE.get(target) ?? 0);
    const byType: Record<string, number> = {};
    let done = 0;
    let outBytes = 0;
    for (const t of src.tensors) {
      const type = chooseTensorType(t, target, q6Down);
      byType[ggmlTypeName(type)] = (byType[ggmlTypeName(type)] ?? 0) + 1;
      // Bytes are produced lazily while the writer streams (the next tensor is quantized on the
      // workers while the current one is written), so about two tensors are in memory at a time.
      w.addTensor(t.name, type, t.dims, async () => {
        const raw = await src.readTensor(t);
        const out =
          type === t.type
            ? raw
            : await pool.quantize(type, dequantizeRows(t.type, raw, t.nElements), t.dims[0]!);
        outBytes += out.byteLength;
        onProgress?.(++done, src.tensors.length, t.name);
        return out;
      });
    }
    await w.write(outPath);
    return { tensors: src.tensors.length, byType, inBytes: src.fileSize, outBytes };
  } finally {
    await pool.close();
    await src.close();
  }
}

export function register(program: Command): void {
  program
    .command("quantize")
    .description("re-encode a GGUF model's weights to another ggml type")
    .argument("<in>", "input GGUF file")
    .argument("<out>", "output GGUF file")
    .requiredOption(
      "-t, --type <type>",
      "target type: q4_0, q4_1, q5_0, q5_1, q8_0, q4_k, q4_k_m, q5_k_m, q6_k, f16, bf16, f32 (_m: Q6_K for output and ffn_down)",
    )
    .option("--threads <n>", "worker threads (default: all cores)")
    .action(async (inPath: string, outPath: string, opts: { type: string; threads?: string }) => {
      const threads = opts.threads === undefined ? undefined : Number(opts.threads);
      if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
        throw new InputError(`--threads must be a positive integer, got '${opts.threads}'`);
      }
      const parsed = parseQuantTarget(opts.type, ggmlTypeFromName);
      const target = parsed?.type;
      if (target === undefined)
        throw new InputError(`unknown type '${opts.type}'`, { hint: "try q4_0, q8_0, q4_k, q6_k or f16" });
      const bar = new SingleBar(
        { format: "quantize [{bar}] {value}/{total} tensors | {name}", hideCursor: true },
        Presets.shades_classic,
      );
      let started = false;
      const t0 = performance.now();
      const r = await quantizeModel(
        inPath,
        outPath,
        target,
        (done, total, name) => {
          if (!started) {
            bar.start(total, 0, { name });
            started = true;
          }
          bar.update(done, { name });
        },
        threads,
        parsed?.q6Down,
      );
      if (started) bar.stop();
      const secs = (performance.now() - t0) / 1000;
      const types = Object.entries(r.byType)
        .map(([k, v]) => `${k} x${v}`)
        .join(", ");
      process.stdout.write(
        `wrote ${outPath}: ${r.tensors} tensors (${types}), ${formatBytes(r.inBytes)} -> ${formatBytes(r.outBytes)} of tensor data in ${secs.toFixed(1)} s\n`,
      );
    });
}
