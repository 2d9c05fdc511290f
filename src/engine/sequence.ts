/**
 * One generating sequence: its tokens (prompt then generated), its paged KV view, its own
 * sampler (own seed), the streaming detokenizer and stop matcher, and the queue its consumer
 * reads. `tokens.length - cache.length` tokens are still to be computed; a decoding sequence has
 * exactly one (the token it sampled last).
 */
import { InputError } from "../errors.js";
import type { PagedKVCache } from "../kv/paged-cache.js";
import { Sampler } from "../sampling/sampler.js";
import { tokenLogprobs } from "../sampling/logprobs.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { StreamDecoder } from "../tokenizer/stream.js";
import { AsyncQueue } from "./async-queue.js";
import { StopMatcher } from "./stop.js";
import type { FinishReason, SequenceEvent, SequenceRequest } from "./types.js";

export class Sequence {
  readonly tokens: number[];
  readonly promptLen: number;
  readonly sampler: Sampler;
  readonly queue = new AsyncQueue<SequenceEvent>();
  cachedTokens = 0;
  /** Tokens removed from `tokens` by context shifts, and how many shifts. */
  dropped = 0;
  shifts = 0;
  /** Set by accept() when the context is full and the request allows a shift (the engine does it). */
  needsShift = false;
  /** The draft model's KV of this sequence (speculative method "draft"; engine.ts). */
  draftCache: PagedKVCache | undefined;
  /** Set once: the sequence leaves the engine at the next step boundary. */
  finished: FinishReason | undefined;
  private readonly decoder: StreamDecoder | undefined;
  private readonly stop: StopMatcher;
  private readonly eog: ReadonlySet<number>;
  private readonly tSubmit = performance.now();
  private tFirst = 0;
  private tLast = 0;

  constructor(
    readonly id: number,
    readonly req: SequenceRequest,
    readonly cache: PagedKVCache,
    /** Order of arrival; the scheduler preempts the newest first. */
    readonly arrival: number,
    tokenizer: Tokenizer | undefined,
    nVocab: number,
  ) {
    this.tokens = req.prompt.slice();
    this.promptLen = req.prompt.length;
    this.sampler = new Sampler(req.sampling, nVocab);
    const constraint = req.constraint;
    if (constraint) this.sampler.chain.unshift({ name: "constraint", apply: (c) => constraint.apply(c) });
    this.decoder = tokenizer ? new StreamDecoder(tokenizer) : undefined;
    this.stop = new StopMatcher(req.stop ?? []);
    this.eog = req.ignoreEos ? new Set() : (req.stopTokens ?? tokenizer?.eog ?? new Set());
  }

  get generated(): number {
    return this.tokens.length + this.dropped - this.promptLen;
  }
  /** Tokens not yet in the KV cache. */
  get pending(): number {
    return this.tokens.length - this.cache.length;
  }

  /**
   * n clamped so that [cache.length, +n) lies inside one media span or outside all of them (a
   * forward segment takes either token ids or given rows). Inside a non-causal span: the whole
   * rest of the span, whatever n.
   */
  clampChunk(n: number): number {
    const from = this.cache.length;
    for (const m of this.req.media ?? []) {
      const end = m.start + m.nTokens;
      if (from < m.start && from + n > m.start) return m.start - from;
      if (from >= m.start && from < end) return m.nonCausal ? end - from : Math.min(n, end - from);
    }
    return n;
  }

  /** Whether positions from.. lie in a non-causal media span (clampChunk). */
  mediaNonCausal(from: number): boolean {
    return (this.req.media ?? []).some((m) => m.nonCausal && from >= m.start && from < m.start + m.nTokens);
  }

  /** The given input rows of positions [from, from + n) when they lie in a media span (clampChunk). */
  mediaRows(from: number, n: number): Float32Array | undefined {
    for (const m of this.req.media ?? []) {
      if (from >= m.start && from < m.start + m.nTokens) {
        const E = m.embeddings.length / m.nTokens;
        return m.embeddings.subarray((from - m.start) * E, (from - m.start + n) * E);
      }
    }
    return undefined;
  }

  /** Sample from the logits of the last computed token, stream it, and decide whether to stop. */
  accept(logits: Float32Array): void {
    let forced: number | undefined;
    try {
      forced = this.req.forceToken?.(this.tokens, this.promptLen);
      if (forced !== undefined && !(Number.isInteger(forced) && forced >= 0 && forced < logits.length)) {
        throw new InputError(`forceToken returned ${forced}, outside the vocabulary 0..${logits.length - 1}`);
      }
    } catch (e) {
      // A failing hook fails this sequence only (as a failing forward step does).
      this.queue.fail(e);
      this.finished = "abort";
      return;
    }
    let id: number;
    try {
      id = forced ?? this.sampler.sample(logits, this.tokens);
      if (id === undefined) throw new InputError("the constraint allows no token here (dead grammar state)");
    } catch (e) {
      this.queue.fail(e);
      this.finished = "abort";
      return;
    }
    this.emit(id, logits);
  }

  /**
   * Append a chosen token (sampled here, or by speculative accept/reject), stream it, and decide
   * whether to stop. `logits`: its row, for logprobs.
   */
  emit(id: number, logits: Float32Array): void {
    try {
      this.req.constraint?.accept(id);
    } catch (e) {
      this.queue.fail(e);
      this.finished = "abort";
      return;
    }
    const now = performance.now();
    if (this.generated === 0) this.tFirst = now;
    this.tLast = now;
    this.tokens.push(id);
    const lp = this.req.logprobs !== undefined ? tokenLogprobs(logits, id, this.req.logprobs) : undefined;
    const isEog = this.eog.has(id);
    let text = "";
    let stopped = false;
    if (!isEog && this.decoder) ({ text, stopped } = this.stop.push(this.decoder.push(id)));
    this.queue.push({ type: "token", token: id, text, ...(lp ? { logprob: lp.chosen, top: lp.top } : {}) });
    if (isEog || stopped) this.finish("stop");
    else if (this.req.constraint?.isDone()) this.finish("stop", true);
    else if (this.generated >= this.req.maxTokens) this.finish("length");
    else if (this.tokens.length >= (this.req.eviction?.budget ?? this.cache.shape.capacity)) {
      if (this.req.contextShift || this.req.eviction) this.needsShift = true;
      else this.finish("length");
    }
  }

  /** End the stream with a reason (idempotent); the engine frees the KV blocks. */
  finish(reason: FinishReason, flushTail = reason !== "stop"): void {
    if (this.finished) return;
    this.finished = reason;
    let tail = "";
    if (flushTail && this.decoder) tail = this.stop.push(this.decoder.flush()).text + this.stop.flush();
    this.queue.push({
      type: "done",
      reason,
      text: tail,
      promptTokens: this.promptLen,
      completionTokens: this.generated,
      cachedTokens: this.cachedTokens,
      ttftMs: this.tFirst ? this.tFirst - this.tSubmit : 0,
      decodeMs: this.tFirst ? this.tLast - this.tFirst : 0,
      seed: this.sampler.seed,
      ...(this.shifts ? { droppedTokens: this.dropped, contextShifts: this.shifts } : {}),
    });
    this.queue.close();
  }
}
