/**
 * `edgellm inspect <file.gguf> [--json]`: architecture, shapes, parameter count, tensor type
 * histogram, tokenizer summary, file size, the KV-cache bytes per token the model needs, and how
 * the WASM kernels would place it (shard memories by layer, KV pool, total against
 * `--max-memory`; model/placement.ts) for a context (`--ctx`, `--parallel`, `--kv`), and what is
 * left in the file: streamed layers (slots, pinned, bytes read per token) or experts on demand
 * (cache size), with `--weights` / `--experts` as run takes them; a model that does not fit the
 * budget resident is shown as `--weights auto` would place it.
 */
import type { Command } from "commander";
import { openGGUF, type GGUFFile } from "../gguf/reader.js";
import { ggmlTypeName } from "../gguf/types.js";
import { kvElementsPerToken, readHParams, type HParams } from "../model/arch/hparams.js";
import { archSpec } from "../model/arch/registry.js";
import { resolveConfig } from "../model/arch/config.js";
import { layerKinds, recurrentShape, type LayerKind } from "../model/forward.js";
import { formatBytes, formatCount } from "./format.js";
import { kvPoolBytesPerLayer } from "../engine/engine.js";
import { describePlacement, planPlacement, type ShardPlan } from "../model/placement.js";
import { wasmPlacementTarget } from "../kernels/wasm/wasm-kernel-set.js";
import { parseKVType, type KVType } from "../kv/quant-kv.js";
import {
  EXPERTS_FLAG,
  EXPERTS_HELP,
  MAX_MEMORY_FLAG,
  MAX_MEMORY_HELP,
  WEIGHTS_FLAG,
  WEIGHTS_HELP,
  expertsOption,
  maxMemoryOption,
  weightsOption,
} from "./memory-options.js";
import { planModel, type ExpertPlacement, type ModelPlan, type WeightPlacement } from "../model/index.js";
import { parsePositiveInt } from "./engine-options.js";
import { EdgeLLMError } from "../errors.js";

/** What the placement section is computed for (engine defaults when absent). */
export interface PlacementQuery {
  maxMemory?: number;
  contextSize?: number;
  parallel?: number;
  kvType?: KVType;
  weights?: WeightPlacement;
  experts?: ExpertPlacement;
}

export interface InspectReport {
  file: string;
  fileSize: number;
  ggufVersion: number;
  architecture: string;
  name: string | undefined;
  hparams: HParams;
  tensorCount: number;
  parameterCount: number;
  /** Per ggml type: how many tensors, elements and bytes. */
  tensorTypes: Record<string, { tensors: number; elements: number; bytes: number }>;
  tokenizer: {
    model: string | undefined;
    pre: string | undefined;
    tokens: number;
    merges: number;
    bos?: number;
    eos?: number;
    chatTemplate: boolean;
  };
  /** KV cache per token: elements, and bytes at F16 / F32. */
  kvCache: {
    elementsPerToken: number;
    bytesPerTokenF16: number;
    bytesPerTokenF32: number;
    /** llama.cpp's q8_0 / q4_0 cache blocks (34 / 18 bytes per 32 values); absent for MLA or head sizes not a multiple of 32. */
    bytesPerTokenQ8_0?: number;
    bytesPerTokenQ4_0?: number;
    mla: boolean;
  };
  /** Per layer: kind and attention window (0 = global); absent when the architecture is not supported. */
  layers?: { kind: LayerKind; window: number; noRope?: boolean }[];
  /** Recurrent layers' state per sequence (f32 bytes), constant in the context length; 0 without. */
  recurrentStateBytes?: number;
  /** How the WASM kernels would place the model (absent when the architecture is not supported). */
  placement?: {
    contextSize: number;
    parallel: number;
    kvType: KVType;
    maxMemory: number | undefined;
    shards: ShardPlan[];
    weightBytes: number;
    jsBytes: number;
    kvBytes: number;
    totalBytes: number;
    /** Where the weights live: all in memory, layers streamed from the file, or experts on demand. */
    weights: "resident" | "stream" | "experts on demand";
    /** Streamed layers: how many, slots (of which pinned: read once), slot bytes, file bytes per token. */
    stream?: { layers: number; slots: number; pinned: number; slotBytes: number; readBytesPerToken: number };
    /** Experts on demand: expert tensor bytes left in the file, and the cache's bytes. */
    experts?: { fileBytes: number; cacheBytes: number };
    /** Set when the model does not fit the budget resident and this is `--weights auto`'s placement. */
    residentError?: string;
    /** Why it cannot be loaded (over the budget, a tensor over one memory); absent when it fits. */
    error?: string;
    hint?: string;
  };
  metadataKeys: number;
}

/** What is left in the file for a plan (streamed layers, experts on demand). */
function leftInFile(
  g: GGUFFile,
  plan: ModelPlan,
): Pick<NonNullable<InspectReport["placement"]>, "weights" | "stream" | "experts"> {
  const bytes = (names: Iterable<string>) => {
    let n = 0;
    for (const x of names) n += g.tensorByName(x)?.nBytes ?? 0;
    return n;
  };
  if (plan.stream) {
    const { layers, slots, slotBytes } = plan.stream;
    // as LayerStream: one rotating slot, the others pin the first layers (read once)
    const pinned = slots >= layers.size ? layers.size : Math.max(0, slots - 1);
    const ids = [...layers.keys()].sort((a, b) => a - b).slice(pinned);
    return {
      weights: "stream",
      stream: {
        layers: layers.size,
        slots,
        pinned,
        slotBytes,
        readBytesPerToken: pinned >= layers.size ? 0 : bytes(ids.flatMap((l) => layers.get(l)!)),
      },
    };
  }
  if (plan.deferred.size > 0)
    return {
      weights: "experts on demand",
      experts: { fileBytes: bytes(plan.deferred), cacheBytes: plan.cacheBytes },
    };
  return { weights: "resident" };
}

/** The placement section: planModel for the WASM kernels, refusals reported, not thrown. */
function resolvePlacement(g: GGUFFile, nVocab: number, q: PlacementQuery): InspectReport["placement"] {
  let c: ReturnType<typeof resolveConfig>;
  try {
    c = resolveConfig(g.metadata, archSpec(String(g.metadata.get("general.architecture"))), nVocab);
  } catch {
    return undefined;
  }
  const contextSize = q.contextSize ?? Math.min(c.contextLength || 4096, 4096);
  const parallel = q.parallel ?? 4;
  const kvType = q.kvType ?? "f32";
  const kvBytesPerLayer = kvPoolBytesPerLayer(c, { contextSize, parallel, kvType });
  const base = { contextSize, parallel, kvType, maxMemory: q.maxMemory };
  const plan = (o: Pick<PlacementQuery, "weights" | "experts">) => {
    const m = planModel(g, wasmPlacementTarget(), {
      maxMemory: q.maxMemory,
      kvBytesPerLayer,
      ...(o.weights ? { weights: o.weights } : {}),
      ...(o.experts ? { experts: o.experts } : {}),
    });
    const { shards, weightBytes, jsBytes, kvBytes, totalBytes } = m.placement;
    return { ...base, shards, weightBytes, jsBytes, kvBytes, totalBytes, ...leftInFile(g, m) };
  };
  try {
    return plan(q);
  } catch (e) {
    if (!(e instanceof EdgeLLMError)) throw e;
    const error = e.message.split("\n")[0]!;
    // resident over the budget: show what --weights auto would do
    if (q.maxMemory !== undefined && q.weights === undefined && q.experts === undefined)
      try {
        return { ...plan({ weights: "auto" }), residentError: error };
      } catch (e2) {
        if (!(e2 instanceof EdgeLLMError)) throw e2;
      }
    // The sizes without the budget, to show what it would take.
    const p = planPlacement(g, wasmPlacementTarget(), { kvBytesPerLayer });
    const { shards, weightBytes, jsBytes, kvBytes, totalBytes } = p;
    return {
      ...base,
      shards,
      weightBytes,
      jsBytes,
      kvBytes,
      totalBytes,
      weights: "resident",
      error,
      hint: e.context.hint,
    };
  }
}

/** Layer kinds and recurrent state bytes from the resolved config; nothing for files edgellm cannot run. */
function resolveLayers(g: GGUFFile, nVocab: number): Pick<InspectReport, "layers" | "recurrentStateBytes"> {
  try {
    const arch = g.metadata.get("general.architecture");
    const c = resolveConfig(g.metadata, archSpec(String(arch)), nVocab);
    const r = recurrentShape(c);
    const nRec = r ? r.layers.filter((x) => x).length : 0;
    return {
      layers: layerKinds(c),
      recurrentStateBytes: r ? nRec * (r.convRows * r.channels + (r.ssmSize ?? 0)) * 4 : 0,
    };
  } catch {
    return {};
  }
}

/** "local (window 8) x2 [0-1], attention x1 [2]": runs of equal kinds. */
function formatLayers(layers: NonNullable<InspectReport["layers"]>): string {
  const name = (l: { kind: LayerKind; window: number; noRope?: boolean }) =>
    (l.kind === "attention"
      ? l.window > 0
        ? `local attention (window ${l.window})`
        : "global attention"
      : l.kind) + (l.noRope ? " (NoPE)" : "");
  const groups = new Map<string, number[]>();
  layers.forEach((l, i) => {
    const k = name(l);
    groups.set(k, [...(groups.get(k) ?? []), i]);
  });
  const span = (ix: number[]) =>
    ix.length === layers.length ? "all" : ix.length > 8 ? `${ix.slice(0, 8).join(",")},...` : ix.join(",");
  return [...groups].map(([k, ix]) => `${k} x${ix.length} [${span(ix)}]`).join("; ");
}

export function buildInspectReport(g: GGUFFile, q: PlacementQuery = {}): InspectReport {
  const md = g.metadata;
  const h = readHParams(md);
  const types: InspectReport["tensorTypes"] = {};
  let params = 0;
  for (const t of g.tensors) {
    const name = ggmlTypeName(t.type);
    const e = (types[name] ??= { tensors: 0, elements: 0, bytes: 0 });
    e.tensors++;
    e.elements += t.nElements;
    e.bytes += t.nBytes;
    params += t.nElements;
  }
  const str = (k: string) => (typeof md.get(k) === "string" ? (md.get(k) as string) : undefined);
  const int = (k: string) => (typeof md.get(k) === "number" ? (md.get(k) as number) : undefined);
  const len = (k: string) => {
    const v = md.get(k);
    return Array.isArray(v) || ArrayBuffer.isView(v) ? (v as ArrayLike<unknown>).length : 0;
  };
  const resolved = resolveLayers(g, h.vocabSize ?? 0);
  // Recurrent layers of a hybrid keep no K/V rows.
  if (resolved.layers) h.kvLayers = resolved.layers.filter((l) => l.kind === "attention").length;
  const kvEl = kvElementsPerToken(h);
  return {
    file: g.path,
    fileSize: g.fileSize,
    ggufVersion: g.version,
    architecture: h.arch,
    name: str("general.name"),
    hparams: h,
    tensorCount: g.tensors.length,
    parameterCount: params,
    tensorTypes: types,
    tokenizer: {
      model: str("tokenizer.ggml.model"),
      pre: str("tokenizer.ggml.pre"),
      tokens: len("tokenizer.ggml.tokens"),
      merges: len("tokenizer.ggml.merges"),
      bos: int("tokenizer.ggml.bos_token_id"),
      eos: int("tokenizer.ggml.eos_token_id"),
      chatTemplate: md.has("tokenizer.chat_template"),
    },
    kvCache: {
      elementsPerToken: kvEl,
      bytesPerTokenF16: kvEl * 2,
      bytesPerTokenF32: kvEl * 4,
      ...(h.kvLoraRank === 0 && h.headDimK % 32 === 0 && h.headDimV % 32 === 0
        ? { bytesPerTokenQ8_0: (kvEl / 32) * 34, bytesPerTokenQ4_0: (kvEl / 32) * 18 }
        : {}),
      mla: h.kvLoraRank > 0,
    },
    ...resolved,
    placement: resolvePlacement(g, h.vocabSize ?? 0, q),
    metadataKeys: md.size,
  };
}

export function formatInspectReport(r: InspectReport): string {
  const h = r.hparams;
  const lines: string[] = [];
  const row = (k: string, v: string | number | undefined) => lines.push(`  ${k.padEnd(22)} ${v ?? "-"}`);
  lines.push(`${r.file}`);
  row("file size", `${formatBytes(r.fileSize)} (${r.fileSize} bytes), GGUF v${r.ggufVersion}`);
  row("architecture", r.architecture + (r.name ? `  (${r.name})` : ""));
  row("parameters", `${formatCount(r.parameterCount)} (${r.parameterCount})`);
  row("layers", h.nLayers);
  row("embedding", h.nEmbd);
  row("feed-forward", h.nFF);
  row("heads (q / kv)", `${h.nHead} / ${h.nHeadKV}`);
  row("head dim (k / v)", `${h.headDimK} / ${h.headDimV}`);
  row("context length", h.contextLength);
  row("rope", h.ropeDim !== undefined ? `dim ${h.ropeDim}, base ${h.ropeFreqBase ?? "-"}` : undefined);
  if (h.nExperts > 0) row("experts", `${h.nExpertsUsed} of ${h.nExperts} routed, ${h.nSharedExperts} shared`);
  if (h.kvLoraRank > 0) row("MLA", `kv_lora_rank ${h.kvLoraRank}, q_lora_rank ${h.qLoraRank}`);
  if (h.slidingWindow) row("sliding window", h.slidingWindow);
  if (r.layers) row("layer kinds", formatLayers(r.layers));
  if (r.recurrentStateBytes)
    row("recurrent state / seq", `${formatBytes(r.recurrentStateBytes)} (f32, any context length)`);
  row(
    "vocabulary",
    `${r.tokenizer.tokens} tokens, model ${r.tokenizer.model ?? "-"}, pre ${r.tokenizer.pre ?? "-"}` +
      (r.tokenizer.merges ? `, ${r.tokenizer.merges} merges` : "") +
      (r.tokenizer.chatTemplate ? ", chat template" : ""),
  );
  const kv = r.kvCache;
  row(
    "KV cache / token",
    `${formatBytes(kv.bytesPerTokenF16)} at F16 (${kv.elementsPerToken} elements${kv.mla ? ", MLA latent + rope key" : ""})`,
  );
  row(
    "KV bytes / token",
    `f32 ${kv.bytesPerTokenF32}, f16 ${kv.bytesPerTokenF16}` +
      (kv.bytesPerTokenQ8_0 ? `, q8_0 ${kv.bytesPerTokenQ8_0}, q4_0 ${kv.bytesPerTokenQ4_0}` : ""),
  );
  if (h.contextLength)
    row(
      "KV cache @ context",
      `${formatBytes(kv.bytesPerTokenF16 * h.contextLength)} at F16 for ${h.contextLength} tokens`,
    );
  const p = r.placement;
  if (p) {
    row(
      "placement (WASM)",
      `${p.shards.length} memor${p.shards.length === 1 ? "y" : "ies"}, total ~${formatBytes(p.totalBytes)}` +
        ` (weights ${formatBytes(p.weightBytes)}, JS ${formatBytes(p.jsBytes)}, KV ${formatBytes(p.kvBytes)}` +
        ` for ${p.parallel} x ${p.contextSize} tokens ${p.kvType})` +
        (p.maxMemory !== undefined ? `, budget ${formatBytes(p.maxMemory)}` : ""),
    );
    const pad = `  ${"".padEnd(22)} `;
    if (p.residentError)
      lines.push(`${pad}resident does not fit (${p.residentError}); as --weights auto places it:`);
    for (const s of describePlacement(p)) lines.push(`${pad}${s}`);
    if (p.stream)
      lines.push(
        `${pad}streamed layers: ${p.stream.layers} left in the file, ${p.stream.slots} slot(s) of ${formatBytes(p.stream.slotBytes)} (${p.stream.pinned} pinned: read once), ${formatBytes(p.stream.readBytesPerToken)} read per token`,
      );
    if (p.experts)
      lines.push(
        `${pad}experts on demand: ${formatBytes(p.experts.fileBytes)} of experts left in the file, cache ${formatBytes(p.experts.cacheBytes)}`,
      );
    if (p.error) {
      lines.push(`  ${"".padEnd(22)} does not fit: ${p.error}`);
      if (p.hint) lines.push(`  ${"".padEnd(22)} hint: ${p.hint}`);
    }
  }
  lines.push(`  tensors: ${r.tensorCount}`);
  const types = Object.entries(r.tensorTypes).sort((a, b) => b[1].bytes - a[1].bytes);
  for (const [name, e] of types) {
    lines.push(
      `    ${name.padEnd(8)} ${String(e.tensors).padStart(5)} tensors  ${formatCount(e.elements).padStart(8)} params  ${formatBytes(e.bytes).padStart(10)}`,
    );
  }
  return lines.join("\n");
}

export function register(program: Command): void {
  program
    .command("inspect")
    .description("print a GGUF model's architecture, shapes, tensor types, tokenizer and KV-cache needs")
    .argument("<file>", "GGUF model file")
    .option("--json", "print a JSON report")
    .option(MAX_MEMORY_FLAG, MAX_MEMORY_HELP)
    .option("--ctx <n>", "context size the placement counts KV rows for (default: trained, at most 4096)")
    .option("--parallel <n>", "sequences the KV pool holds (default 4, as serve)")
    .option("--kv <type>", "KV cache type: f32 (default), f16, q8_0 or q4_0")
    .option(WEIGHTS_FLAG, WEIGHTS_HELP)
    .option(EXPERTS_FLAG, EXPERTS_HELP)
    .action(
      async (
        file: string,
        opts: {
          json?: boolean;
          maxMemory?: string;
          ctx?: string;
          parallel?: string;
          kv?: string;
          weights?: string;
          experts?: string;
        },
      ) => {
        const q: PlacementQuery = {
          maxMemory: maxMemoryOption(opts),
          contextSize: opts.ctx === undefined ? undefined : parsePositiveInt("--ctx", opts.ctx),
          parallel: opts.parallel === undefined ? undefined : parsePositiveInt("--parallel", opts.parallel),
          kvType: opts.kv === undefined ? undefined : parseKVType(opts.kv, "--kv"),
          ...weightsOption(opts),
          ...expertsOption(opts),
        };
        const g = await openGGUF(file);
        try {
          const r = buildInspectReport(g, q);
          process.stdout.write(opts.json ? JSON.stringify(r, null, 2) + "\n" : formatInspectReport(r) + "\n");
        } finally {
          await g.close();
        }
      },
    );
}
