/**
 * The narrow interface strategies consume: a prompt bound into a function that decodes `n`
 * samples together and streams their events tagged with the sample index. The engine adapter
 * (llm-generator.ts) implements it over the shared-prefix engine; tests implement it with
 * scripted candidates. Strategies never see token ids or KV caches.
 */
export interface SampleOptions {
  /** Samples decoded together. */
  n: number;
  /** Sample i uses seed + i (reproducible). */
  seed?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  maxTokens?: number;
  /** Most tokens inside the thinking block (enforced during decoding). */
  thinkingBudget?: number;
  /** Aborting stops every sample still running; each still ends with a "done" event. */
  signal?: AbortSignal;
}

export type SampleEvent =
  | { type: "token"; index: number; text: string }
  | {
      type: "done";
      index: number;
      text: string;
      reason: "stop" | "length" | "abort";
      completionTokens: number;
      /** Of those, tokens inside the thinking block (tags included), when the generator knows. */
      reasoningTokens?: number;
    };

export type Generator = (opts: SampleOptions) => AsyncIterable<SampleEvent>;

/** One finished (or cut) sample. */
export interface Candidate {
  index: number;
  text: string;
  finishReason: "stop" | "length" | "abort";
  completionTokens: number;
  reasoningTokens?: number;
  /** The extracted answer, when the strategy extracts one. */
  answer?: string;
  /** Verifier score in [0, 1], when scored. */
  score?: number;
}

/** A signal that aborts when `parent` does or when `abort()` is called. */
export function childAbort(parent?: AbortSignal): AbortController {
  const c = new AbortController();
  if (parent?.aborted) c.abort();
  else parent?.addEventListener("abort", () => c.abort(), { once: true });
  return c;
}

/** Drain a generator into candidates (index order). */
export async function collect(
  gen: Generator,
  opts: SampleOptions,
  onDone?: (c: Candidate) => void,
): Promise<Candidate[]> {
  const text: string[] = Array.from({ length: opts.n }, () => "");
  const out: Candidate[] = [];
  for await (const ev of gen(opts)) {
    text[ev.index] += ev.text;
    if (ev.type === "done") {
      const c: Candidate = {
        index: ev.index,
        text: text[ev.index],
        finishReason: ev.reason,
        completionTokens: ev.completionTokens,
        reasoningTokens: ev.reasoningTokens,
      };
      out.push(c);
      onDone?.(c);
    }
  }
  return out.sort((a, b) => a.index - b.index);
}
