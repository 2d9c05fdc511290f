/**
 * Runs one API request through the engine: ties the client connection to an AbortSignal (a
 * client that goes away cancels its sequences and frees their KV blocks), observes time to first
 * token and time per output token per choice, and counts tokens.
 */
import type { FastifyReply } from "fastify";
import type { GenerateOptions, GenerationChunk, LLM } from "../engine/llm.js";
import type { Metrics } from "./metrics.js";

export interface DriveResult {
  aborted: boolean;
}

export async function drive(
  llm: LLM,
  metrics: Metrics,
  reply: FastifyReply,
  prompt: number[],
  opts: GenerateOptions,
  onChunk: (c: GenerationChunk) => void,
): Promise<DriveResult> {
  const t0 = performance.now();
  const ac = new AbortController();
  const res = reply.raw;
  const onClose = () => {
    if (!res.writableFinished) ac.abort();
  };
  res.on("close", onClose);
  const last = new Map<number, number>();
  metrics.prompt.inc(prompt.length);
  try {
    for await (const c of llm.generate(prompt, { ...opts, signal: ac.signal })) {
      if (c.type === "token") {
        const now = performance.now();
        const prev = last.get(c.index);
        if (prev === undefined) metrics.ttft.observe((now - t0) / 1000);
        else metrics.tpot.observe((now - prev) / 1000);
        last.set(c.index, now);
        metrics.generated.inc();
      }
      if (!ac.signal.aborted) onChunk(c);
    }
  } finally {
    res.off("close", onClose);
    metrics.e2e.observe((performance.now() - t0) / 1000);
  }
  return { aborted: ac.signal.aborted };
}

export function newId(prefix: string): string {
  let s = "";
  for (let i = 0; i < 24; i++) s += "0123456789abcdefghijklmnopqrstuvwxyz"[Math.floor(Math.random() * 36)];
  return `${prefix}-${s}`;
}
