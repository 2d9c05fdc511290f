/**
 * The edgellm side of `edgellm bench`: the production path a server request takes — the Engine
 * (scheduler, continuous-batching step loop, sampler) over the shared paged KV pool in the
 * KernelSet's memory (f32, the server's default, or the workload's KV types), WASM kernels, greedy sampling. Each phase runs on
 * a fresh Engine so the prefix cache cannot reuse the previous phase's prompt. See workload.ts.
 * With `profile`, the model's OpProfiler records per-op times for the prefill and decode phases.
 */
import { Engine } from "../../engine/engine.js";
import type { SequenceEvent } from "../../engine/types.js";
import { openGGUF } from "../../gguf/reader.js";
import { createWasmKernelSet } from "../../kernels/wasm/wasm-kernel-set.js";
import { OpProfiler } from "../../model/forward.js";
import { loadLoraAdapter } from "../../model/index.js";
import type { LoraRef } from "../../model/lora.js";
import { parseLoraFlag } from "../lora-options.js";
import { speculativeMethod } from "../speculative-options.js";
import { streamLoaderOption } from "../memory-options.js";
import { loadFromFile, type Transformer } from "../../model/index.js";
import type { PhaseProfile } from "./profile.js";
import { peakRss, promptIds, type SideResult, type Workload } from "./workload.js";

async function generate(
  model: Transformer,
  prompt: number[],
  maxTokens: number,
  ctx: number,
  kv: Pick<Workload, "kvType" | "kvTypeV" | "kvRotate" | "speculative"> = {},
  lora?: LoraRef[],
  draft?: Transformer,
): Promise<{
  tokens: number[];
  ttftMs: number;
  decodeMs: number;
  wallMs: number;
  kvBytesPerToken: number;
  spec: { drafted: number; accepted: number; steps: number; draftForwards: number };
}> {
  const engine = new Engine(model, undefined, {
    contextSize: ctx,
    parallel: 1,
    kvType: kv.kvType,
    kvTypeV: kv.kvTypeV,
    kvRotate: kv.kvRotate,
  });
  if (draft) engine.attachDraft(draft);
  const kvBytesPerToken = engine.kvBytesPerToken();
  const t0 = performance.now();
  const stream = engine.submit({
    prompt,
    maxTokens,
    sampling: { temperature: 0 },
    ignoreEos: true,
    stopTokens: new Set(),
    lora: lora?.length ? lora : undefined,
    ...(kv.speculative ? { speculative: kv.speculative } : {}),
  });
  const tokens: number[] = [];
  let done: Extract<SequenceEvent, { type: "done" }> | undefined;
  for await (const ev of stream) {
    if (ev.type === "token") tokens.push(ev.token);
    else done = ev;
  }
  const wallMs = performance.now() - t0;
  const st = engine.stats();
  const spec = {
    drafted: st.draftTokens,
    accepted: st.acceptedDraftTokens,
    steps: st.steps,
    draftForwards: st.draftForwards,
  };
  return { tokens, ttftMs: done!.ttftMs, decodeMs: done!.decodeMs, wallMs, kvBytesPerToken, spec };
}

export async function runOurs(w: Workload, opts: { profile?: boolean } = {}): Promise<SideResult> {
  const ks = await createWasmKernelSet({ threads: w.threads });
  let closeFile: { close(): Promise<void> } | undefined;
  let draftKs: Awaited<ReturnType<typeof createWasmKernelSet>> | undefined;
  try {
    const t0 = performance.now();
    const file = await openGGUF(w.model);
    let model: Transformer | undefined;
    try {
      model = loadFromFile(file, {
        kernels: ks,
        ...(w.experts ? { experts: w.experts } : {}),
        ...(w.weights ? { weights: w.weights } : {}),
        ...streamLoaderOption(w.streamCache),
        ...(w.maxMemory === undefined ? {} : { maxMemory: w.maxMemory }),
      });
    } finally {
      // experts on demand keep reading the file (closed below, after the runs)
      if (!model?.openFile) await file.close();
    }
    closeFile = model.openFile;
    const lora: LoraRef[] = [];
    for (const s of (w.lora ?? []).map(parseLoraFlag))
      lora.push({ adapter: await loadLoraAdapter(s.path as string, model), scale: s.scale ?? 1 });
    // A draft model (--draft): its own kernels, as loadLLM gives it.
    let draft: Transformer | undefined;
    if (w.draft) {
      draftKs = await createWasmKernelSet({ threads: w.threads });
      const df = await openGGUF(w.draft);
      try {
        draft = loadFromFile(df, { kernels: draftKs });
      } finally {
        await df.close();
      }
    }
    const loadMs = performance.now() - t0;
    const rssLoaded = process.memoryUsage().rss;
    const prompt = promptIds(w.prompt, w.nVocab);
    const ctx = w.prompt + w.gen + 1;

    // Warm-up: 8 prompt tokens then 2 decode steps.
    await generate(model, prompt.slice(0, 8), 3, ctx, w, lora, draft);

    // Prompt processing: the whole prompt, one token sampled (engine prefill chunks as served).
    const pp = await generate(model, prompt, 1, ctx, w, lora, draft);
    // TTFT then decode on a fresh engine (no prefix-cache reuse).
    const before = model.expertCache?.stats();
    const sBefore = model.layerStream?.stats();
    const run = await generate(model, prompt, w.gen, ctx, w, lora, draft);
    const after = model.expertCache?.stats();
    const sAfter = model.layerStream?.stats();
    const stream =
      sBefore && sAfter
        ? {
            loads: sAfter.loads - sBefore.loads,
            bytesRead: sAfter.bytesRead - sBefore.bytesRead,
            readMs: sAfter.readMs - sBefore.readMs,
            repackMs: sAfter.repackMs - sBefore.repackMs,
            wallMs: run.wallMs,
            tokens: w.prompt + w.gen,
            slots: sAfter.slots,
            pinned: sAfter.pinned,
          }
        : undefined;
    const experts =
      before && after
        ? {
            hits: after.hits - before.hits,
            misses: after.misses - before.misses,
            bytesRead: after.bytesRead - before.bytesRead,
            tokens: w.prompt + w.gen,
            slots: after.slots,
          }
        : undefined;
    // Profile: one more run with the profiler attached (its timer calls stay out of the figures above).
    let profile: { prefill: PhaseProfile; decode: PhaseProfile } | undefined;
    if (opts.profile) {
      const prof = new OpProfiler();
      model.profiler = prof;
      const pr = await generate(model, prompt, w.gen, ctx, w, lora, draft);
      model.profiler = undefined;
      const ph = (name: string, tokens: number, wallMs: number): PhaseProfile => ({
        ms: Object.fromEntries(prof.byPhase.get(name) ?? []),
        tokens,
        wallMs,
      });
      profile = { prefill: ph("prefill", w.prompt, pr.ttftMs), decode: ph("decode", w.gen - 1, pr.decodeMs) };
    }
    return {
      side: "edgellm",
      loadMs,
      ppTokS: (w.prompt * 1000) / pp.ttftMs,
      ttftMs: run.ttftMs,
      decodeTokS: w.gen > 1 ? ((w.gen - 1) * 1000) / run.decodeMs : 0,
      rssLoaded,
      rssPeak: peakRss(),
      tokens: run.tokens,
      kvBytesPerToken: run.kvBytesPerToken,
      config: `${ks.name}${(ks as { dot32?: boolean }).dot32 ? " (int8 dots in i32 lanes)" : ""} x${ks.threads}, node ${process.versions.node}, engine + paged KV ${w.kvType ?? "f32"}/${w.kvTypeV ?? w.kvType ?? "f32"} (K/V, in kernel memory${w.kvRotate === false ? ", unrotated" : ""})${lora.length ? `, ${lora.length} LoRA` : ""}${w.speculative ? `, speculative ${speculativeMethod(w.speculative, w.draft)} (max ${w.speculative.maxDraft ?? 8})` : ""}`,
      ...(profile ? { profile } : {}),
      ...(experts ? { experts } : {}),
      ...(stream ? { stream } : {}),
      ...(w.speculative ? { speculative: run.spec } : {}),
    };
  } finally {
    await draftKs?.dispose();
    await ks.dispose();
    await closeFile?.close();
  }
}
