/**
 * `edgellm bench -m <file> [--threads N] [--prompt 256] [--gen 128] [--repeats 3] [--vs-llama-cpp]
 * [--lora a.gguf [--vs-base]] [--lookup | --draft d.gguf | --draft-layers K] [--draft-max N]`:
 * prompt-processing and decode tokens/s, time to first token and peak RSS of edgellm, and of
 * llama.cpp (node-llama-cpp) on the same file and thread count. Every measurement runs in its own
 * child process (this command again with the hidden `--side`), alternating edgellm, llama.cpp,
 * edgellm, ... so slow drifts in machine load hit both sides alike; medians over repeats are
 * printed with ratios, then the bandwidth view (weight bytes per token x decode tok/s against the
 * read ceiling measured by the kernels' probe). `--vs-base` with `--lora`: edgellm without the
 * adapters too, alternating with the LoRA runs, and the LoRA overhead from the medians.
 * `--lookup` / `--draft d.gguf` / `--draft-layers K` (speculative decoding): edgellm's runs speculate, a plain run
 * alternates with each, and the speed-up, acceptance and forward steps are printed.
 */
import { collectLora, LORA_FLAG, LORA_HELP } from "./lora-options.js";
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { resolveModel } from "./default-model.js";
import { EdgeLLMError, InputError } from "../errors.js";
import { openGGUF } from "../gguf/reader.js";
import { createWasmKernelSet } from "../kernels/wasm/wasm-kernel-set.js";
import { modelConfig } from "../model/index.js";
import { checkSpeculative } from "../engine/engine.js";
import { measureReadCeiling } from "./bench/read-ceiling.js";
import { formatReport, summarize, weightBytesPerToken, type BenchReport } from "./bench/report.js";
import { importNodeLlamaCpp, runLlamaCpp } from "./bench/side-llama-cpp.js";
import { formatProfile } from "./bench/profile.js";
import { runOurs } from "./bench/side-ours.js";
import type { SideResult, Workload } from "./bench/workload.js";
import { parsePositiveInt } from "./engine-options.js";
import {
  addSpeculativeOptions,
  speculativeMethod,
  speculativeOptions,
  type SpeculativeCliOptions,
} from "./speculative-options.js";
import { KV_ROTATE_HELP, kvTypeOptions } from "./kv-options.js";
import {
  EXPERTS_FLAG,
  EXPERTS_HELP,
  expertsOption,
  WEIGHTS_FLAG,
  WEIGHTS_HELP,
  STREAM_CACHE_FLAG,
  STREAM_CACHE_HELP,
  weightsOption,
  MAX_MEMORY_FLAG,
  MAX_MEMORY_HELP,
  maxMemoryOption,
} from "./memory-options.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

interface BenchOpts extends SpeculativeCliOptions {
  model: string;
  threads?: string;
  prompt: string;
  experts?: string;
  weights?: string;
  streamCache?: string;
  maxMemory?: string;
  gen: string;
  repeats: string;
  vsLlamaCpp?: boolean;
  json?: boolean;
  childTimeout: string;
  side?: string;
  nVocab?: string;
  profile?: boolean;
  kvType?: string;
  cacheTypeK?: string;
  cacheTypeV?: string;
  kvRotate?: boolean;
  lora?: string[];
  vsBase?: boolean;
}

/** Run one side in a child process; its last stdout line is the SideResult JSON. */
function runChild(
  side: "ours" | "llama.cpp",
  w: Workload,
  timeoutS: number,
  profile = false,
): Promise<SideResult> {
  const args = [
    MAIN,
    "bench",
    "-m",
    w.model,
    "--threads",
    String(w.threads),
    "--prompt",
    String(w.prompt),
    "--gen",
    String(w.gen),
    "--side",
    side,
    "--n-vocab",
    String(w.nVocab),
    ...(w.kvType ? ["--cache-type-k", w.kvType] : []),
    ...(w.kvTypeV ? ["--cache-type-v", w.kvTypeV] : []),
    ...(w.kvRotate === false ? ["--no-kv-rotate"] : []),
    ...(profile && side === "ours" ? ["--profile"] : []),
    ...(w.lora ?? []).flatMap((l) => ["--lora", l]),
    ...(side === "ours" && w.experts ? ["--experts", w.experts] : []),
    ...(side === "ours" && w.weights ? ["--weights", w.weights] : []),
    ...(side === "ours" && w.streamCache ? ["--stream-cache", w.streamCache] : []),
    ...(side === "ours" && w.maxMemory !== undefined ? ["--max-memory", String(w.maxMemory)] : []),
    ...(side === "ours" && w.speculative
      ? [
          ...(w.draft
            ? ["--draft", w.draft]
            : w.speculative.draftLayers !== undefined
              ? ["--draft-layers", String(w.speculative.draftLayers)]
              : ["--lookup"]),
          ...(w.speculative.maxDraft !== undefined ? ["--draft-max", String(w.speculative.maxDraft)] : []),
          ...(w.speculative.draftPMin !== undefined
            ? ["--draft-p-min", String(w.speculative.draftPMin)]
            : []),
        ]
      : []),
  ];
  return new Promise((resolve, reject) => {
    // llama.cpp reads its rotation switch from the environment when a context is created.
    const env = w.kvRotate === false ? { ...process.env, LLAMA_ATTN_ROT_DISABLE: "1" } : process.env;
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutS * 1000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").pop() ?? "";
      if (code === 0 && last.startsWith("{")) return resolve(JSON.parse(last) as SideResult);
      const why = signal === "SIGKILL" ? `was killed after ${timeoutS} s` : `exited with ${code ?? signal}`;
      reject(
        new EdgeLLMError(
          `the ${side} benchmark process ${why}: ${err.trim().split("\n").slice(-3).join(" | ") || "(no output)"}`,
          {
            file: w.model,
            hint: signal === "SIGKILL" ? "raise --child-timeout or lower --prompt/--gen" : undefined,
          },
        ),
      );
    });
  });
}

const MiB = 1 << 20;
function oneLine(r: SideResult): string {
  return `pp ${r.ppTokS.toFixed(1)} tok/s, TTFT ${r.ttftMs.toFixed(0)} ms, decode ${r.decodeTokS.toFixed(2)} tok/s, peak RSS ${(r.rssPeak / MiB).toFixed(0)} MiB`;
}

export function register(program: Command): void {
  const cmd = program
    .command("bench")
    .description("prompt/decode tok/s, TTFT and peak RSS, optionally against llama.cpp on the same file")
    .requiredOption(
      "-m, --model <file|url>",
      "GGUF model, a path or an http(s) URL (pulled into the model cache)",
    )
    .option(
      "--threads <list>",
      "threads for both sides, or a list such as 1,2 for a scaling run (default: all cores)",
    )
    .option("--prompt <n>", "prompt tokens", "256")
    .option("--gen <n>", "generated tokens", "128")
    .option("--repeats <n>", "runs per side (medians are reported)", "3")
    .option("--vs-llama-cpp", "also measure llama.cpp through node-llama-cpp, alternating with edgellm")
    .option("--json", "print the report as JSON")
    .option(LORA_FLAG, LORA_HELP, collectLora)
    .option(
      "--vs-base",
      "with --lora: also measure edgellm without the adapters, alternating, and print the LoRA overhead",
    )
    .option(
      "--profile",
      "per-op breakdown of edgellm's time (matmuls by tensor, attention, norms, sampling, JS overhead)",
    )
    .option("--kv-type <type>", "KV cache type for K and V on both sides: f32, f16, q8_0, q4_0")
    .option("--cache-type-k <type>", "K cache type (overrides --kv-type)")
    .option("--cache-type-v <type>", "V cache type (overrides --kv-type)")
    .option("--no-kv-rotate", KV_ROTATE_HELP)
    .option(MAX_MEMORY_FLAG, `edgellm: ${MAX_MEMORY_HELP}`)
    .option(EXPERTS_FLAG, `edgellm: ${EXPERTS_HELP}`)
    .option(WEIGHTS_FLAG, `edgellm: ${WEIGHTS_HELP}`)
    .option(STREAM_CACHE_FLAG, `edgellm: ${STREAM_CACHE_HELP}`)
    .option("--child-timeout <s>", "seconds one measurement process may take", "900")
    .addOption(hidden(program, "--side <side>", "internal: measure one side in this process"))
    .addOption(hidden(program, "--n-vocab <n>", "internal: vocabulary size"));
  addSpeculativeOptions(cmd).action(async (o: BenchOpts) => {
    const threadList =
      o.threads === undefined
        ? [availableParallelism()]
        : o.threads.split(",").map((t) => parsePositiveInt("--threads", t.trim()));
    const w: Workload = {
      // a URL is pulled once here (children get the cached path)
      model: o.side === undefined ? await resolveModel(o.model) : o.model,
      threads: threadList[0],
      prompt: parsePositiveInt("--prompt", o.prompt),
      gen: parsePositiveInt("--gen", o.gen),
      nVocab: 0,
      ...kvTypeOptions(o),
      lora: o.lora,
      ...expertsOption(o),
      ...weightsOption(o),
      ...(o.streamCache ? { streamCache: o.streamCache } : {}),
      ...(maxMemoryOption(o) === undefined ? {} : { maxMemory: maxMemoryOption(o) }),
      ...speculativeOptions(o),
    };
    if (o.side !== undefined) {
      w.nVocab = parsePositiveInt("--n-vocab", o.nVocab ?? "");
      if (o.side !== "ours" && o.side !== "llama.cpp")
        throw new InputError(`--side must be ours or llama.cpp, got '${o.side}'`);
      const r = o.side === "ours" ? await runOurs(w, { profile: o.profile }) : await runLlamaCpp(w);
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const repeats = parsePositiveInt("--repeats", o.repeats);
    const timeoutS = parsePositiveInt("--child-timeout", o.childTimeout);
    if (w.prompt < 8)
      throw new InputError(`--prompt must be at least 8 tokens (the warm-up uses 8), got ${w.prompt}`, {
        field: "prompt",
      });

    const file = await openGGUF(w.model);
    let wbpt: number;
    try {
      const c = modelConfig(file);
      w.nVocab = c.nVocab;
      if (w.speculative) checkSpeculative(w.speculative, w.draft !== undefined, c); // e.g. --draft-layers >= layers
      if (c.contextLength && w.prompt + w.gen > c.contextLength) {
        throw new InputError(
          `--prompt ${w.prompt} + --gen ${w.gen} exceeds the model's context of ${c.contextLength}`,
          { file: w.model, field: "prompt" },
        );
      }
      wbpt = weightBytesPerToken(file);
    } finally {
      await file.close();
    }
    if (o.vsLlamaCpp) await importNodeLlamaCpp(); // fail early with the install hint

    if (o.vsBase && !w.lora?.length) throw new InputError("--vs-base needs --lora");
    if (o.vsBase && w.speculative)
      throw new InputError(
        "--vs-base compares LoRA runs; with --lookup/--draft/--draft-layers the plain runs alternate already",
      );
    // The runs without the thing measured: LoRA (--vs-base) or speculation (--lookup/--draft).
    const baseOf = (x: Workload): Workload | undefined =>
      o.vsBase
        ? { ...x, lora: undefined }
        : w.speculative
          ? { ...x, speculative: undefined, draft: undefined }
          : undefined;
    const reports: BenchReport[] = [];
    const overheads: string[] = [];
    for (const threads of threadList) {
      const wt = { ...w, threads };
      const ours: SideResult[] = [];
      const theirs: SideResult[] = [];
      const base: SideResult[] = [];
      for (let i = 0; i < repeats; i++) {
        // --vs-base: the base without adapters before the LoRA run on even repeats, after it on
        // odd ones (slow drifts in machine load hit both alike).
        const runBase = async () => {
          const b = await runChild("ours", baseOf(wt)!, timeoutS);
          base.push(b);
          process.stderr.write(
            `[${threads}t ${i + 1}/${repeats}] ${o.vsBase ? "base     " : "plain    "} ${oneLine(b)}\n`,
          );
        };
        const alternate = baseOf(wt) !== undefined;
        if (alternate && i % 2 === 0) await runBase();
        const a = await runChild("ours", wt, timeoutS, o.profile);
        ours.push(a);
        process.stderr.write(`[${threads}t ${i + 1}/${repeats}] edgellm   ${oneLine(a)}\n`);
        if (alternate && i % 2 === 1) await runBase();
        if (o.vsLlamaCpp) {
          const b = await runChild("llama.cpp", wt, timeoutS);
          theirs.push(b);
          process.stderr.write(`[${threads}t ${i + 1}/${repeats}] llama.cpp ${oneLine(b)}\n`);
        }
      }
      // The read ceiling last, in this process: its 256 MiB buffer must not count in a side's RSS.
      const ks = await createWasmKernelSet({ threads });
      let ceiling: ReturnType<typeof measureReadCeiling>;
      try {
        ceiling = measureReadCeiling(ks);
      } finally {
        await ks.dispose();
      }
      const report: BenchReport = {
        workload: wt,
        repeats,
        ours: summarize(ours),
        theirs: o.vsLlamaCpp ? summarize(theirs) : undefined,
        weightBytesPerToken: wbpt,
        ceiling,
      };
      reports.push(report);
      if (w.speculative) overheads.push(speculativeLine(wt, ours, base));
      if (o.vsBase) {
        const b = summarize(base);
        const pct = (x: number, y: number) => `${((x / y - 1) * 100).toFixed(1)}%`;
        overheads.push(
          `LoRA overhead at ${threads} thread(s), medians of ${repeats}: decode ${b.decodeTokS.toFixed(2)} -> ${report.ours.decodeTokS.toFixed(2)} tok/s (${pct(b.decodeTokS, report.ours.decodeTokS)} slower), prompt ${b.ppTokS.toFixed(1)} -> ${report.ours.ppTokS.toFixed(1)} tok/s (${pct(b.ppTokS, report.ours.ppTokS)} slower), peak RSS +${((report.ours.rssPeak - b.rssPeak) / MiB).toFixed(0)} MiB`,
        );
      }
      if (!o.json) {
        process.stdout.write(`${formatReport(report, w.model.split(/[\\/]/).pop()!)}\n`);
        // The profile of the run with the median decode speed.
        const prof = [...ours].sort((x, y) => x.decodeTokS - y.decodeTokS)[Math.floor(ours.length / 2)]
          .profile;
        if (prof)
          process.stdout.write(`\n${formatProfile(prof.prefill, prof.decode, `${threads} thread(s)`)}\n\n`);
      }
    }
    if (o.json)
      process.stdout.write(`${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 1)}\n`);
    else if (overheads.length) process.stdout.write(`\n${overheads.join("\n")}\n`);
    else if (reports.length > 1) process.stdout.write(`${formatScaling(reports)}\n`);
  });
}

/** Speculative decoding against the plain runs: decode speed-up (medians), acceptance, steps, same tokens. */
function speculativeLine(w: Workload, spec: SideResult[], plain: SideResult[]): string {
  const a = summarize(spec);
  const b = summarize(plain);
  const s = spec[0].speculative ?? { drafted: 0, accepted: 0, steps: 0 };
  const same = spec.every((r) => r.tokens.join() === plain[0].tokens.join());
  const method = speculativeMethod(w.speculative ?? {}, w.draft);
  const df = s.draftForwards ? ` + ${s.draftForwards} draft forwards` : "";
  return (
    `speculative decoding (${method}, at most ${w.speculative?.maxDraft ?? 8} drafted) at ${w.threads} thread(s), medians of ${spec.length}: ` +
    `decode ${b.decodeTokS.toFixed(2)} -> ${a.decodeTokS.toFixed(2)} tok/s (x${(a.decodeTokS / b.decodeTokS).toFixed(2)}); ` +
    `drafted ${s.drafted}, accepted ${s.accepted} (${s.drafted ? ((100 * s.accepted) / s.drafted).toFixed(0) : 0}%), ` +
    `${s.steps} forward steps (prefill included)${df} for ${w.gen} tokens; greedy tokens ${same ? "identical to" : "DIFFER from"} the plain runs'`
  );
}

/** Thread scaling: each side's speed at N threads over its speed at the first count. */
function formatScaling(rs: BenchReport[]): string {
  const base = rs[0];
  const lines = ["thread scaling (vs " + base.workload.threads + " thread(s)):"];
  for (const r of rs.slice(1)) {
    const f = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) + "x" : "-");
    let line = `  ${r.workload.threads} threads: edgellm prefill ${f(r.ours.ppTokS, base.ours.ppTokS)}, decode ${f(r.ours.decodeTokS, base.ours.decodeTokS)}`;
    if (r.theirs && base.theirs)
      line += `; llama.cpp prefill ${f(r.theirs.ppTokS, base.theirs.ppTokS)}, decode ${f(r.theirs.decodeTokS, base.theirs.decodeTokS)}`;
    lines.push(line);
  }
  return lines.join("\n");
}

function hidden(program: Command, flags: string, desc: string) {
  return program.createOption(flags, desc).hideHelp();
}
