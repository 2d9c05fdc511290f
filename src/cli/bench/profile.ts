/**
 * `edgellm bench --profile`: where one request's time goes, per phase, from the model's
 * OpProfiler (src/model/forward.ts) on a profiled engine run. Rows: the forward pass's ops
 * (matmuls by tensor kind, attention, norms, RoPE, KV writes, activations, residual adds),
 * "forward: JS glue" = forward time not inside a timed op (loops, views, validation, dispatch),
 * sampling + streaming, the engine's event-loop yield, and "other" = the phase's wall time not
 * inside an engine step (scheduling, async iteration).
 */
export interface PhaseProfile {
  ms: Record<string, number>;
  tokens: number;
  /** Wall time of the phase as the client saw it (TTFT, or first -> last token). */
  wallMs: number;
}

const COUNTERS = new Set(["forward.calls", "forward.rows", "engine.steps"]);
const TOTALS = new Set(["forward.total", "engine.step"]);

function rows(p: PhaseProfile): [string, number][] {
  const ms = p.ms;
  const ops = Object.entries(ms).filter(
    ([k]) => !COUNTERS.has(k) && !TOTALS.has(k) && k !== "sampling+stream" && k !== "engine.yield",
  );
  const inOps = ops.reduce((s, [, v]) => s + v, 0);
  const fwd = ms["forward.total"] ?? 0;
  const step = ms["engine.step"] ?? 0;
  const out: [string, number][] = ops.sort((a, b) => b[1] - a[1]);
  out.push(["forward: JS glue", Math.max(0, fwd - inOps)]);
  out.push(["sampling + stream", ms["sampling+stream"] ?? 0]);
  out.push(["engine yield (event loop)", ms["engine.yield"] ?? 0]);
  out.push(["other (scheduler, async)", Math.max(0, p.wallMs - step - (ms["engine.yield"] ?? 0))]);
  return out;
}

/** Markdown table: per op, µs per token and share of the phase's wall time, prefill and decode side by side. */
export function formatProfile(pre: PhaseProfile, dec: PhaseProfile, label: string): string {
  const a = new Map(rows(pre));
  const b = new Map(rows(dec));
  const names = [...new Set([...a.keys(), ...b.keys()])];
  const cell = (m: Map<string, number>, p: PhaseProfile, k: string) => {
    const v = m.get(k) ?? 0;
    return `${((v * 1000) / Math.max(1, p.tokens)).toFixed(1).padStart(9)} ${((100 * v) / Math.max(1e-9, p.wallMs)).toFixed(1).padStart(5)}%`;
  };
  const lines = [
    `profile (${label}): µs per token and % of phase wall time; prefill ${pre.tokens} tokens in ${pre.wallMs.toFixed(0)} ms (${pre.ms["forward.calls"] ?? 0} forward calls), decode ${dec.tokens} tokens in ${dec.wallMs.toFixed(0)} ms`,
    "",
    "| op                          |  prefill µs/tok      |  decode µs/tok       |",
    "|-----------------------------|----------------------|----------------------|",
  ];
  for (const k of names) lines.push(`| ${k.padEnd(27)} | ${cell(a, pre, k)}     | ${cell(b, dec, k)}     |`);
  lines.push(
    `| ${"phase wall".padEnd(27)} | ${cell(new Map([["w", pre.wallMs]]), pre, "w")}     | ${cell(new Map([["w", dec.wallMs]]), dec, "w")}     |`,
  );
  return lines.join("\n");
}
