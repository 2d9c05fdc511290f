/**
 * Turning repeated side results into the printed figures: medians per metric, ratios
 * (edgellm / llama.cpp), and the bandwidth view of decode (weight bytes read per token x tokens/s
 * against the measured memory-read ceiling).
 */
import type { GGUFFile } from "../../gguf/reader.js";
import { median, type ReadCeiling } from "./read-ceiling.js";
import type { SideResult, Workload } from "./workload.js";

export interface SideSummary {
  side: SideResult["side"];
  runs: number;
  loadMs: number;
  ppTokS: number;
  ttftMs: number;
  decodeTokS: number;
  rssLoaded: number;
  rssPeak: number;
  kvBytesPerToken: number;
  config: string;
  tokens: number[];
  /** Experts on demand: the first run's expert-cache counters (SideResult.experts). */
  experts?: SideResult["experts"];
  /** Streamed layers: the first run's layer-stream counters (SideResult.stream). */
  stream?: SideResult["stream"];
}

export function summarize(rs: SideResult[]): SideSummary {
  const m = (f: (r: SideResult) => number) => median(rs.map(f));
  return {
    side: rs[0].side,
    runs: rs.length,
    loadMs: m((r) => r.loadMs),
    ppTokS: m((r) => r.ppTokS),
    ttftMs: m((r) => r.ttftMs),
    decodeTokS: m((r) => r.decodeTokS),
    rssLoaded: m((r) => r.rssLoaded),
    rssPeak: m((r) => r.rssPeak),
    kvBytesPerToken: rs[0].kvBytesPerToken ?? NaN,
    config: rs[0].config,
    tokens: rs[0].tokens,
    ...(rs[0].experts ? { experts: rs[0].experts } : {}),
    ...(rs[0].stream ? { stream: rs[0].stream } : {}),
  };
}

/**
 * Bytes of weights one decode step reads: every tensor once, except the token embedding, of
 * which one row is read, unless the output head is tied to it (no output.weight), when all of it is.
 */
export function weightBytesPerToken(file: GGUFFile): number {
  const tied = !file.tensorByName("output.weight");
  let sum = 0;
  for (const t of file.tensors) {
    if (t.name === "token_embd.weight" && !tied) sum += t.nBytes / Math.max(1, t.dims[1] ?? 1);
    else sum += t.nBytes;
  }
  return Math.round(sum);
}

const MiB = 1 << 20;
const fx = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : "-");

export interface BenchReport {
  workload: Workload;
  repeats: number;
  ours: SideSummary;
  theirs?: SideSummary;
  weightBytesPerToken: number;
  ceiling: ReadCeiling;
}

/** Leading greedy tokens on which the sides agree (random-weight models may part at near-ties). */
export function agreement(a: number[], b: number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export function formatReport(r: BenchReport, fileLabel: string): string {
  const { ours, theirs, workload: w } = r;
  const rows: [string, (s: SideSummary) => number, number, string][] = [
    ["prompt processing tok/s", (s) => s.ppTokS, 1, "higher is better"],
    ["decode tok/s", (s) => s.decodeTokS, 2, "higher is better"],
    ["time to first token ms", (s) => s.ttftMs, 0, "lower is better"],
    ["peak RSS MiB", (s) => s.rssPeak / MiB, 0, "lower is better"],
    ["RSS after load MiB", (s) => s.rssLoaded / MiB, 0, "lower is better"],
    ["load ms", (s) => s.loadMs, 0, "lower is better"],
  ];
  const out: string[] = [];
  out.push(
    `edgellm bench: ${fileLabel}, threads ${w.threads}, prompt ${w.prompt}, gen ${w.gen}, ${r.repeats} repeat(s)${theirs ? " alternating edgellm / llama.cpp" : ""}, medians`,
  );
  out.push(`  edgellm:   ${ours.config}`);
  if (Number.isFinite(ours.kvBytesPerToken))
    out.push(`  edgellm KV cache: ${ours.kvBytesPerToken} bytes/token`);
  const ex = ours.experts;
  if (ex) {
    const uses = ex.hits + ex.misses;
    out.push(
      `  edgellm experts on demand (${ex.slots} cached): ${ex.hits} hits, ${ex.misses} misses (hit rate ${fx(ex.hits / Math.max(1, uses), 3)}), ${fx(ex.bytesRead / ex.tokens / MiB, 2)} MiB read per token over ${ex.tokens} tokens`,
    );
  }
  const st = ours.stream;
  if (st)
    out.push(
      `  edgellm streamed layers (${st.slots} slots, ${st.pinned} pinned): ${st.loads} layer loads, ${fx(st.bytesRead / st.tokens / MiB, 2)} MiB read per token over ${st.tokens} tokens; of ${fx(st.wallMs / 1000, 2)} s, ${fx(st.readMs / 1000, 2)} s waiting on reads and ${fx(st.repackMs / 1000, 2)} s repacking`,
    );
  if (theirs) out.push(`  llama.cpp: ${theirs.config}`);
  out.push("");
  out.push(
    theirs
      ? "| metric                  |   edgellm | llama.cpp | ratio e/l |"
      : "| metric                  |   edgellm |",
  );
  out.push(
    theirs
      ? "|-------------------------|-----------|-----------|-----------|"
      : "|-------------------------|-----------|",
  );
  for (const [name, f, d] of rows) {
    const a = f(ours);
    if (!theirs) out.push(`| ${name.padEnd(23)} | ${fx(a, d).padStart(9)} |`);
    else {
      const b = f(theirs);
      out.push(
        `| ${name.padEnd(23)} | ${fx(a, d).padStart(9)} | ${fx(b, d).padStart(9)} | ${fx(a / b, 2).padStart(9)} |`,
      );
    }
  }
  out.push("");
  const wb = r.weightBytesPerToken;
  const c = r.ceiling;
  out.push(
    `bandwidth: ${(wb / MiB).toFixed(1)} MiB of weights read per decoded token; measured read ceiling ${c.gbs.toFixed(2)} GB/s (${(c.bytes / MiB).toFixed(0)} MiB read probe, ${w.threads} thread(s))`,
  );
  for (const s of theirs ? [ours, theirs] : [ours]) {
    const gbs = (wb * s.decodeTokS) / 1e9;
    out.push(
      `  ${s.side.padEnd(9)} ${gbs.toFixed(2)} GB/s = ${((100 * gbs) / c.gbs).toFixed(0)}% of the ceiling (decode ${s.decodeTokS.toFixed(2)} tok/s; ceiling allows ${((c.gbs * 1e9) / wb).toFixed(2)} tok/s)`,
    );
  }
  if (theirs)
    out.push(
      `greedy tokens: the first ${agreement(ours.tokens, theirs.tokens)} of ${Math.min(ours.tokens.length, theirs.tokens.length)} agree`,
    );
  return out.join("\n");
}
