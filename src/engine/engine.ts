/**
 * The engine: owns the KV block pool and the scheduler, and runs the step loop. Each step asks
 * the scheduler for {sequenceId: nTokens}, runs one batched forward pass over those tokens,
 * samples a token for every sequence whose known tokens are now all computed, publishes full
 * KV blocks to the prefix cache, and retires finished or aborted sequences (their blocks go back
 * before the next step). Requests join and leave between steps; the loop yields to the event
 * loop after every step so I/O (new requests, disconnects) is served while generating.
 */
import { InputError } from "../errors.js";
import type { KVDType } from "../kv/cache.js";
import { checkKVType, kvRowBytes } from "../kv/quant-kv.js";
import { PagedKVCache, type KVGroup } from "../kv/paged-cache.js";
import { BlockPool, type PoolStats } from "../kv/paged-pool.js";
import { kvRotation } from "../kv/hadamard.js";
import { lookupDraft, type SpeculativeOptions } from "./speculative.js";
import { drawDist, speculativeAccept, type Dist, type SpeculativeResult } from "../sampling/speculative.js";
import { layerWindow, recurrentShape, type Transformer } from "../model/forward.js";
import type { ModelConfig } from "../model/arch/config.js";
import { checkLoraRefs, loraKey } from "../model/lora.js";
import { mlaCacheWidth } from "../model/blocks/mla.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { forwardBatch, type Segment } from "./batch-forward.js";
import {
  evictPerHead,
  compactRows,
  discardCount,
  ropeShift,
  type ContextShiftMode,
} from "./context-shift.js";
import { Scheduler } from "./scheduler.js";
import { Sequence } from "./sequence.js";
import type { MediaSpan, SequenceEvent, SequenceRequest } from "./types.js";
import { nextMacrotask } from "../platform/macrotask.js";

export interface EngineOptions {
  /** Most positions one sequence may hold. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Sequences decoded together. Default 4. */
  parallel?: number;
  /** KV blocks in the pool. Default: enough for `parallel` full contexts. */
  kvBlocks?: number;
  /** Positions per KV block. Default 16. */
  blockSize?: number;
  /** K and V row format (default f32); `kvTypeV` sets V's separately (llama.cpp -ctk / -ctv). */
  kvType?: KVDType;
  kvTypeV?: KVDType;
  /**
   * Store quantized K/V rows Hadamard-rotated where llama.cpp does (head size % 64 == 0; see
   * kv/hadamard.ts). Default true; false is llama.cpp's LLAMA_ATTN_ROT_DISABLE=1.
   */
  kvRotate?: boolean;
  /** How a context shift re-positions the kept tokens (see context-shift.ts). Default "rope". */
  contextShift?: ContextShiftMode;
  /** Tokens per step across sequences (default 256) and per prefill chunk (default 128). */
  maxBatchTokens?: number;
  prefillChunk?: number;
  /**
   * Keep every position's KV for sliding-window layers too (llama.cpp's --swa-full). Default
   * false: those layers form their own KV group that gives back blocks outside the window.
   */
  swaFull?: boolean;
}

/** One layer group of the engine's KV (see KVGroup in kv/paged-cache.ts) with its pool's stats. */
export interface KVGroupStats extends PoolStats {
  /** 0 = global layers; W = sliding-window layers of window W. */
  window: number;
  layers: number;
  /** Bytes of the group's whole pool, and of the blocks live sequences hold now. */
  poolBytes: number;
  usedBytes: number;
}

/**
 * Model layers grouped by attention kind: global layers (window 0, recurrent and MLA layers
 * included) and one group per sliding-window size; with swaFull every layer is in one global group.
 */
export function kvLayerGroups(c: ModelConfig, swaFull = false): { window: number; layers: number[] }[] {
  const byWindow = new Map<number, number[]>();
  for (let l = 0; l < c.nLayers; l++) {
    const w = swaFull || c.mla || c.recurrentLayers?.[l] ? 0 : layerWindow(c, l);
    let g = byWindow.get(w);
    if (!g) byWindow.set(w, (g = []));
    g.push(l);
  }
  return [...byWindow].map(([window, layers]) => ({ window, layers })).sort((a, b) => a.window - b.window);
}

/**
 * Blocks one sequence of a group with this window can hold at once: the window's positions plus
 * one step of `step` new positions, rounded out to blocks (and never more than the context's).
 */
export function windowBlocks(window: number, step: number, blockSize: number, contextSize: number): number {
  const all = Math.ceil(contextSize / blockSize);
  return window > 0 ? Math.min(all, Math.ceil((window - 1 + step) / blockSize) + 1) : all;
}

/**
 * Bytes of one layer's K and V rows in the pool an Engine with these options allocates (the same
 * defaults as the constructor), for placing a model's shards before it is loaded.
 */
export function kvPoolBytesPerLayer(c: ModelConfig, opts: EngineOptions = {}): number {
  const ctx = opts.contextSize ?? Math.min(c.contextLength || 4096, 4096);
  const blockSize = opts.blockSize ?? 16;
  const rows = (opts.kvBlocks ?? (opts.parallel ?? 4) * Math.ceil(ctx / blockSize)) * blockSize;
  const kt = opts.kvType ?? "f32";
  const vt = opts.kvTypeV ?? kt;
  if (c.mla) return rows * kvRowBytes(kt, mlaCacheWidth(c.mla));
  return rows * (kvRowBytes(kt, c.nHeadKV * c.headDimK) + kvRowBytes(vt, c.nHeadKV * c.headDimV));
}

export interface EngineStats {
  running: number;
  waiting: number;
  /** All groups' pools together. */
  kv: PoolStats;
  /** Per KV layer group (one for models without sliding-window layers, or with swaFull). */
  kvGroups: KVGroupStats[];
  /** Fraction of KV blocks held by live sequences. */
  kvUsage: number;
  promptTokens: number;
  cachedPromptTokens: number;
  generatedTokens: number;
  preemptions: number;
  steps: number;
  contextShifts: number;
  contextShiftMs: number;
  /** Speculative decoding: draft tokens verified, and how many of them were accepted. */
  draftTokens: number;
  acceptedDraftTokens: number;
  /** Forward passes of the draft model (method "draft"), or of the first k layers ("early-exit"). */
  draftForwards: number;
}

/** A draft model attached to an engine (speculative method "draft"), with its own KV pool. */
interface DraftModel {
  model: Transformer;
  pool: BlockPool;
}

export class Engine {
  /** The KV layer groups, each with its own block pool (global group first). */
  readonly pools: readonly KVGroup[];
  readonly scheduler: Scheduler;
  readonly contextSize: number;
  private readonly seqs = new Map<number, Sequence>();
  private nextId = 1;
  private looping = false;
  private totals = {
    promptTokens: 0,
    cachedPromptTokens: 0,
    generatedTokens: 0,
    steps: 0,
    contextShifts: 0,
    contextShiftMs: 0,
    draftTokens: 0,
    acceptedDraftTokens: 0,
    draftForwards: 0,
  };
  private draft: DraftModel | undefined;
  /** Most new positions one sequence computes (and reserves) per step. */
  private readonly prefillChunk: number;
  readonly shiftMode: ContextShiftMode;
  /** Resolves when the loop next goes idle (for draining). */
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly model: Transformer,
    readonly tokenizer: Tokenizer | undefined,
    opts: EngineOptions = {},
  ) {
    const c = model.config;
    this.contextSize = opts.contextSize ?? Math.min(c.contextLength || 4096, 4096);
    const parallel = opts.parallel ?? 4;
    const blockSize = opts.blockSize ?? 16;
    const nBlocks = opts.kvBlocks ?? parallel * Math.ceil(this.contextSize / blockSize);
    for (const [k, v] of Object.entries({ contextSize: this.contextSize, parallel, blockSize, nBlocks })) {
      if (!Number.isInteger(v) || v <= 0)
        throw new InputError(`engine option ${k} must be a positive integer, got ${v}`, { field: k });
    }
    this.shiftMode = opts.contextShift ?? (c.mla ? "reprefill" : "rope");
    if (this.shiftMode !== "rope" && this.shiftMode !== "reprefill")
      throw new InputError(`contextShift must be 'rope' or 'reprefill', got '${this.shiftMode}'`);
    const chunk = opts.prefillChunk ?? 128;
    const shape = kvShape(c, opts, blockSize);
    this.pools = kvLayerGroups(c, opts.swaFull).map(({ window, layers }) => ({
      window,
      layers,
      pool: new BlockPool(
        {
          ...shape,
          nLayers: layers.length,
          nBlocks:
            window > 0
              ? Math.min(nBlocks, parallel * windowBlocks(window, chunk, blockSize, this.contextSize))
              : nBlocks,
        },
        model.kernels,
        (i) => model.kernelsOf(layers[i]),
      ),
    }));
    this.kvOpts = opts;
    this.kvBlocks = nBlocks;
    this.prefillChunk = chunk;
    this.scheduler = new Scheduler({
      maxSeqs: parallel,
      maxBatchTokens: opts.maxBatchTokens ?? 256,
      chunk,
    });
  }

  private readonly kvOpts: EngineOptions;
  /** Blocks of a full (unwindowed) pool: the draft model's KV pool gets as many. */
  private readonly kvBlocks: number;

  /**
   * Attach a draft model for speculative decoding (method "draft"): it gets a KV pool of its own
   * with as many blocks as the target's and the same K/V types, so every sequence can hold a draft
   * KV beside its own (kvPoolBytesPerLayer counts it when loadLLM places the models). The caller
   * checks the vocabularies (checkDraftVocab); here only the output width is checked.
   */
  attachDraft(model: Transformer): void {
    if (model.config.nVocab !== this.model.config.nVocab)
      throw new InputError(
        `the draft model has ${model.config.nVocab} output rows; the target has ${this.model.config.nVocab}`,
      );
    if (recurrentShape(model.config))
      throw new InputError(
        "a draft model with recurrent layers cannot roll back its state; use a transformer",
      );
    this.draft = {
      model,
      pool: kvPool(model, this.kvOpts, this.pools[0].pool.shape.blockSize, this.kvBlocks),
    };
  }

  get draftModel(): Transformer | undefined {
    return this.draft?.model;
  }

  /** KV bytes one position takes across every group when nothing is given back (a full cache's rate). */
  kvBytesPerToken(): number {
    return this.pools.reduce((n, g) => n + g.pool.blockByteLength(), 0) / this.pools[0].pool.shape.blockSize;
  }

  /** Start a sequence; its events arrive on the returned async iterable. Throws InputError on bad input. */
  submit(req: SequenceRequest): AsyncIterable<SequenceEvent> {
    if (!Array.isArray(req.prompt) || req.prompt.length === 0) throw new InputError("the prompt is empty");
    const nVocab = this.model.config.nVocab;
    for (const t of req.prompt)
      if (!Number.isInteger(t) || t < 0 || t >= nVocab)
        throw new InputError(`prompt token ${t} outside the vocabulary 0..${nVocab - 1}`);
    if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1)
      throw new InputError(`max_tokens must be a positive integer, got ${req.maxTokens}`, {
        field: "max_tokens",
      });
    if (req.prompt.length >= this.contextSize) {
      throw new InputError(
        `the prompt has ${req.prompt.length} tokens; the context holds ${this.contextSize}`,
        { field: "messages", hint: "shorten the prompt" },
      );
    }
    if (req.lora?.length) checkLoraRefs(req.lora);
    if (req.speculative) checkSpeculative(req.speculative, !!this.draft, this.model.config);
    if (req.media?.length) checkMedia(req, this.model.config.nEmbd);
    const budget = req.eviction?.budget ?? this.contextSize;
    if (req.eviction) {
      if (!(Number.isInteger(budget) && budget >= 2 && budget <= this.contextSize))
        throw new InputError(
          `the eviction budget must be an integer in 2..${this.contextSize}, got ${budget}`,
          {
            field: "eviction",
          },
        );
      if (req.prompt.length >= budget)
        throw new InputError(`the prompt has ${req.prompt.length} tokens; the KV budget holds ${budget}`, {
          field: "eviction",
        });
    }
    for (const g of this.pools) {
      const B = g.pool.shape.blockSize;
      const total = Math.min(budget, req.prompt.length + req.maxTokens);
      const need = windowBlocks(g.window, this.prefillChunk, B, total);
      if (need > g.pool.shape.nBlocks) {
        throw new InputError(
          `the request needs more KV memory than the whole pool (${g.pool.shape.nBlocks} blocks of ${B})`,
          { hint: "lower max_tokens" },
        );
      }
    }
    const seq = new Sequence(
      this.nextId++,
      req,
      new PagedKVCache(this.pools, this.contextSize, loraKey(req.lora) + mediaKey(req.media)),
      this.nextId,
      this.tokenizer,
      nVocab,
    );
    // Scored eviction (H2O): the forward pass accumulates attention per position.
    if (req.eviction?.scored && !this.model.config.mla) seq.cache.trackAttention();
    // Per-head eviction (SnapKV): the forward pass keeps the newest query rows of every layer.
    if (req.eviction?.observe) {
      const c = this.model.config;
      seq.cache.observeQueries(req.eviction.observe, c.nLayers, c.nHead * c.headDimK);
    }
    this.seqs.set(seq.id, seq);
    this.scheduler.add(seq);
    this.totals.promptTokens += seq.promptLen;
    const abort = () => this.abort(seq);
    if (req.signal?.aborted) abort();
    req.signal?.addEventListener("abort", abort, { once: true });
    seq.queue.onCancel = abort; // the consumer stopped reading
    this.kick();
    return seq.queue;
  }

  /** Stop a sequence now: it ends with reason "abort" and its KV blocks are freed. */
  private abort(seq: Sequence): void {
    if (!this.seqs.has(seq.id)) return;
    seq.finish("abort");
    if (!this.looping) this.retire(seq);
  }

  private retire(seq: Sequence): void {
    this.scheduler.remove(seq);
    this.seqs.delete(seq.id);
    this.totals.cachedPromptTokens += seq.cachedTokens;
    this.totals.generatedTokens += seq.generated;
  }

  stats(): EngineStats {
    const kvGroups = this.pools.map((g): KVGroupStats => {
      const st = g.pool.stats();
      const bb = g.pool.blockByteLength();
      return {
        window: g.window,
        layers: g.layers.length,
        ...st,
        poolBytes: st.nBlocks * bb,
        usedBytes: st.used * bb,
      };
    });
    const kv: PoolStats = { nBlocks: 0, used: 0, cached: 0, free: 0, prefixQueries: 0, prefixHits: 0 };
    for (const g of kvGroups) for (const k of Object.keys(kv) as (keyof PoolStats)[]) kv[k] += g[k];
    return {
      running: this.scheduler.running.length,
      waiting: this.scheduler.waiting.length,
      kv,
      kvGroups,
      kvUsage: kv.used / kv.nBlocks,
      ...this.totals,
      preemptions: this.scheduler.preemptions,
    };
  }

  /** Resolves when no sequence is left (SIGTERM drain). */
  idle(): Promise<void> {
    if (!this.scheduler.hasWork) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    nextMacrotask(() => this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.scheduler.hasWork) {
        for (const s of [...this.seqs.values()]) if (s.finished) this.retire(s);
        if (!this.scheduler.hasWork) break;
        this.step();
        for (const s of [...this.seqs.values()]) if (s.finished) this.retire(s);
        const P = this.model.profiler;
        const t = P ? performance.now() : 0;
        await new Promise<void>((r) => nextMacrotask(r));
        P?.lap("engine.yield", t);
      }
    } finally {
      this.looping = false;
      const w = this.idleWaiters.splice(0);
      for (const r of w) r();
    }
  }

  /** Context shift of a full sequence (see context-shift.ts); a failure fails that sequence only. */
  private shift(seq: Sequence): void {
    seq.needsShift = false;
    // The draft model's KV is re-prefilled from the shifted tokens on the next draft.
    seq.draftCache?.truncate(0);
    const t0 = performance.now();
    try {
      const len = seq.cache.length; // tokens.length - 1: the last sampled token is pending
      let keep: number;
      let n: number;
      const ev = seq.req.eviction;
      if (ev?.selectPerHead && seq.cache.observed && this.shiftMode === "rope") {
        // Each layer's KV heads keep their own positions (context-shift.ts compactPerHead); the
        // token list keeps the newest tokens, as many as the cache now holds (+ the pending one):
        // lookup and penalties then see only those; the prefix cache never publishes the rewritten
        // blocks (prepareRewrite), so it is never keyed by this list (docs/kv-eviction.md).
        const n = evictPerHead(this.model, seq.cache, ev);
        seq.tokens.splice(0, n);
        seq.dropped += n;
        seq.shifts++;
        this.totals.contextShifts++;
        this.totals.contextShiftMs += performance.now() - t0;
        return;
      }
      if (ev?.selectPositions && seq.cache.attnScores && this.shiftMode === "rope") {
        // A scored policy's token set, compacted with per-row RoPE shifts (the pending token,
        // not yet in the cache, stays). With "reprefill" the policy's run form below applies.
        const drop = ev.selectPositions(len, seq.cache.attnScores).filter((p) => p >= 0 && p < len);
        if (drop.length === 0) drop.push(0);
        compactRows(this.model, seq.cache, drop);
        const gone = new Set(drop);
        let w = 0;
        for (let p = 0; p < seq.tokens.length; p++) if (!gone.has(p)) seq.tokens[w++] = seq.tokens[p];
        seq.tokens.length = w;
        seq.dropped += drop.length;
        seq.shifts++;
        this.totals.contextShifts++;
        this.totals.contextShiftMs += performance.now() - t0;
        return;
      }
      if (seq.req.eviction) {
        // The policy's run, clipped to what the cache holds (the pending token stays).
        const r = seq.req.eviction.select(len);
        keep = Math.max(0, Math.min(r.from, len - 1));
        n = Math.max(1, Math.min(r.count, len - keep));
      } else {
        keep = Math.max(0, Math.min(seq.req.contextShift!.keep, Math.floor(len / 2)));
        n = discardCount(len, keep);
      }
      if (this.shiftMode === "rope") ropeShift(this.model, seq.cache, keep, n);
      else seq.cache.truncate(keep);
      seq.tokens.splice(keep, n);
      seq.dropped += n;
      seq.shifts++;
    } catch (e) {
      seq.queue.fail(e);
      seq.finished = "abort";
      return;
    }
    this.totals.contextShifts++;
    this.totals.contextShiftMs += performance.now() - t0;
  }

  /**
   * Draft tokens for a decoding sequence (prompt lookup or the draft model), with its KV reserved;
   * empty unless the request asks for speculation and nothing per-token interferes. `q`: the draft
   * model's distributions the drafts were drawn from (sampling only; lookup proposals are one-hot).
   */
  private draftFor(seq: Sequence): Drafted {
    const none = { draft: [], q: [] };
    const r = seq.req;
    if (!r.speculative || r.constraint || r.forceToken) return none;
    const cap = (r.eviction?.budget ?? seq.cache.shape.capacity) - 1 - seq.tokens.length;
    const left = r.maxTokens - seq.generated - 1;
    const limit = Math.min(cap, left, r.speculative.maxDraft ?? 8);
    if (limit <= 0) return none;
    const method = specMethod(r.speculative, !!this.draft);
    let out: Drafted;
    if (method === "draft" || method === "early-exit") {
      try {
        out =
          method === "draft"
            ? this.draftModelTokens(seq, limit)
            : this.exitDraft(seq, r.speculative.draftLayers!, limit);
      } catch (e) {
        seq.queue.fail(e);
        seq.finished = "abort";
        return none;
      }
    } else out = { draft: lookupDraft(seq.tokens, r.speculative, limit), q: [] };
    // Early exit with nothing drafted still verifies from its exit layer (its pass is done).
    if (out.hidden && out.draft.length === 0) return out;
    if (out.draft.length === 0 || !seq.cache.reserve(seq.cache.length + 1 + out.draft.length)) return none;
    this.totals.draftTokens += out.draft.length;
    return out;
  }

  /**
   * k tokens from the draft model, one forward each after catching its KV up with the sequence
   * (the draft KV holds a prefix of seq.tokens; verification truncates it back to what matched).
   * Greedy: the draft's top token after the sequence's own processors. Sampling: a draw from the
   * draft's distribution under the same processors (q, for accept/reject).
   */
  private draftModelTokens(seq: Sequence, k: number): { draft: number[]; q: (Dist | undefined)[] } {
    const D = this.draft!;
    const dc = (seq.draftCache ??= new PagedKVCache(D.pool, this.contextSize));
    const L = seq.tokens.length;
    if (dc.length > L) dc.truncate(L);
    if (!dc.reserve(L + k - 1)) {
      dc.truncate(0); // the draft pool is short: give its blocks back, draft nothing this step
      return { draft: [], q: [] };
    }
    const hist = seq.tokens.slice();
    const draft: number[] = [];
    const q: Dist[] = [];
    let feed = seq.tokens.slice(dc.length, L);
    for (let i = 0; i < k; i++) {
      let row: Float32Array | undefined;
      while (feed.length > 0) {
        const n = Math.min(feed.length, this.prefillChunk);
        const part = feed.slice(0, n);
        feed = feed.slice(n);
        const lg = forwardBatch(D.model, [
          { tokens: part, cache: dc, outputs: feed.length === 0 ? [n - 1] : [] },
        ]);
        this.totals.draftForwards++;
        if (feed.length === 0) row = lg[0][0];
      }
      const tok = this.draftToken(seq, row!, hist, q);
      if (tok < 0) break;
      draft.push(tok);
      hist.push(tok);
      if (i < k - 1) feed = [tok];
    }
    return { draft, q };
  }

  /**
   * Self-speculative drafts (LayerSkip's early exit): up to `limit` tokens from the target's own
   * first k layers, then its final norm and output head, one forward of those layers per token.
   * The passes feed [pending token, d1, ...] at the sequence's own positions, writing the
   * target's KV of layers < k there, and keep each row's hidden state leaving layer k - 1; the
   * last pass (feeding the last draft) needs no head. The verification then runs only layers >= k
   * from those rows (step: a forward with layers.from = k) — reused, not recomputed: the WASM
   * kernels compute a row the same way alone or in a batch (test/kernels/matvec: matvec == matmul
   * rows), so layers < k of [pending, drafts] are bit-identical to what the full forward would write,
   * and greedy output is the plain decoding's. Rejected positions are cut by verify's truncate.
   */
  private exitDraft(seq: Sequence, k: number, limit: number): Drafted {
    const c = seq.cache;
    const base = c.length; // the pending token's position
    if (!c.reserve(base + limit + 1)) return { draft: [], q: [] };
    const E = this.model.config.nEmbd;
    const hidden = new Float32Array((limit + 1) * E);
    const hist = seq.tokens.slice();
    const draft: number[] = [];
    const q: Dist[] = [];
    let tok = seq.tokens[seq.tokens.length - 1];
    try {
      for (let i = 0; i <= limit; i++) {
        const want = i < limit;
        const lg = forwardBatch(
          this.model,
          [{ tokens: [tok], cache: c, outputs: want ? [0] : [], lora: seq.req.lora }],
          { layers: { to: k }, hidden: hidden.subarray(i * E, (i + 1) * E) },
        );
        this.totals.draftForwards++;
        if (!want) break;
        const next = this.draftToken(seq, lg[0][0], hist, q);
        if (next < 0) break; // not confident enough: verify what was drafted (rows 0..i are ready)
        tok = next;
        draft.push(tok);
        hist.push(tok);
      }
    } finally {
      c.setLength(base); // the verification writes layers >= k from here
    }
    return { draft, q, hidden: hidden.subarray(0, (draft.length + 1) * E), from: k };
  }

  /**
   * The next draft token from a draft row: greedy, the top token after the sequence's own
   * processors; sampling, a draw from that distribution (pushed on q, for accept/reject). -1 when
   * softmax(row)'s top probability is under the request's draftPMin (decided before any draw).
   */
  private draftToken(seq: Sequence, row: Float32Array, hist: number[], q: Dist[]): number {
    const pMin = seq.req.speculative?.draftPMin ?? 0;
    if (pMin > 0) {
      // The top probability of softmax(row): the draft's confidence, whatever the sampler does.
      let m = -Infinity;
      for (let i = 0; i < row.length; i++) if (row[i] > m) m = row[i];
      let z = 0;
      for (let i = 0; i < row.length; i++) z += Math.exp(row[i] - m);
      if (1 / z < pMin) return -1;
    }
    if (seq.sampler.greedy) {
      const c = seq.sampler.process(row, hist);
      return c.ids[c.argmax()];
    }
    const d = seq.sampler.distribution(row, hist);
    q.push(d);
    return drawDist(d, () => seq.sampler.random());
  }

  /** Keep the draft model's KV only where it holds this sequence's tokens (base: first drafted position). */
  private rollbackDraft(seq: Sequence, base: number, draft: number[]): void {
    const dc = seq.draftCache;
    if (!dc) return;
    let keep = Math.min(base, dc.length);
    while (keep < dc.length && keep < seq.tokens.length && seq.tokens[keep] === draft[keep - base]) keep++;
    dc.truncate(keep);
  }

  /**
   * Greedy, after the step: the first row was accepted as usual; accept draft tokens while the
   * model's token equals the draft's, each from its own row, then drop the KV of the rejected drafts.
   */
  private verify(seq: Sequence, draft: number[], rows: Float32Array[]): void {
    const base = seq.cache.length - draft.length; // positions valid before the drafts
    let m = 0;
    while (
      m < draft.length &&
      !seq.finished &&
      !seq.needsShift &&
      seq.tokens[seq.tokens.length - 1] === draft[m]
    ) {
      m++;
      seq.accept(rows[m]);
    }
    this.totals.acceptedDraftTokens += m;
    seq.cache.truncate(base + m);
    this.rollbackDraft(seq, base, draft);
  }

  /**
   * Sampling, after the step: speculative accept/reject (sampling/speculative.ts) over the target's
   * rows with the sequence's own processors and RNG; the kept drafts and the next token are
   * emitted (until a stop), and the KV keeps the emitted tokens but the last (pending).
   */
  private verifySampled(seq: Sequence, draft: number[], q: (Dist | undefined)[], rows: Float32Array[]): void {
    const base = seq.cache.length - draft.length;
    const hist = seq.tokens.slice();
    let res: SpeculativeResult;
    try {
      res = speculativeAccept(
        (i) => seq.sampler.distribution(rows[i], i === 0 ? hist : hist.concat(draft.slice(0, i))),
        q,
        draft,
        () => seq.sampler.random(),
      );
    } catch (e) {
      seq.queue.fail(e);
      seq.finished = "abort";
      return;
    }
    const out = [...draft.slice(0, res.accepted), res.next];
    let e = 0;
    while (e < out.length && !seq.finished && !seq.needsShift) {
      seq.emit(out[e], rows[e]);
      e++;
    }
    this.totals.acceptedDraftTokens += Math.min(e, res.accepted);
    seq.cache.truncate(base + Math.max(0, e - 1));
    this.rollbackDraft(seq, base, draft);
  }

  /** One scheduled forward step. A failing step fails its sequences, not the engine. */
  private step(): void {
    const plan = this.scheduler.step();
    if (plan.size === 0) return;
    const batch: {
      seq: Sequence;
      seg: Segment;
      last: boolean;
      draft: number[];
      q: (Dist | undefined)[];
      /** First layer to run (early-exit drafts: their exit layer; seg.embeddings = its input rows). */
      from: number;
    }[] = [];
    for (const [id, n] of plan) {
      const seq = this.seqs.get(id)!;
      const from = seq.cache.length;
      const last = from + n === seq.tokens.length;
      const rows = seq.mediaRows(from, n);
      const d: Drafted = last && n === 1 && !rows ? this.draftFor(seq) : { draft: [], q: [] };
      if (seq.finished) continue; // the draft model failed for it
      const { draft, q } = d;
      const tokens = [...seq.tokens.slice(from, from + n), ...draft];
      batch.push({
        seq,
        last,
        draft,
        q,
        from: d.hidden ? d.from! : 0,
        seg: {
          tokens,
          cache: seq.cache,
          outputs: last ? tokens.map((_, i) => i).slice(n - 1) : [],
          lora: seq.req.lora,
          ...(rows ? { embeddings: rows } : {}),
          ...(d.hidden ? { embeddings: d.hidden } : {}),
          ...(rows && seq.mediaNonCausal(from) ? { nonCausal: [[0, n] as const] } : {}),
        },
      });
    }
    const P = this.model.profiler;
    const tStep = P ? performance.now() : 0;
    if (P) P.phase = batch.some((b) => b.seg.tokens.length > 1) ? "prefill" : "decode";
    // One forward for the batch; early-exit verifications (their layers < k already ran in the
    // drafts) in one forward per exit layer, from that layer.
    const groups = new Map<number, typeof batch>();
    for (const b of batch) {
      const g = groups.get(b.from);
      if (g) g.push(b);
      else groups.set(b.from, [b]);
    }
    let counted = false;
    let t = P ? performance.now() : 0;
    for (const [from, group] of groups) {
      let logits: Float32Array[][];
      try {
        // Logits are consumed below (accept) before the next forward: one reused buffer.
        logits = forwardBatch(
          this.model,
          group.map((b) => b.seg),
          { reuseLogits: true, ...(from > 0 ? { layers: { from } } : {}) },
        );
      } catch (e) {
        for (const b of group) {
          b.seq.queue.fail(e);
          b.seq.finished = "abort";
        }
        continue;
      }
      if (!counted) this.totals.steps++;
      counted = true;
      if (P) t = performance.now();
      group.forEach((b, i) => {
        b.seq.cache.publishFull(b.seq.tokens);
        const sampled = b.draft.length > 0 && !b.seq.sampler.greedy;
        if (sampled) this.verifySampled(b.seq, b.draft, b.q, logits[i]);
        else {
          if (b.last && !b.seq.finished) b.seq.accept(logits[i][0]);
          if (b.draft.length > 0) this.verify(b.seq, b.draft, logits[i]);
        }
        if (b.seq.needsShift && !b.seq.finished) this.shift(b.seq);
      });
      if (P) t = P.lap("sampling+stream", t);
    }
    if (P) {
      P.add("engine.step", t - tStep);
      P.add("engine.steps", 1);
    }
  }
}

/** A step's drafts for one sequence: tokens, the proposal distributions (sampling), and for
 *  early-exit drafts the hidden rows [1 + draft.length][nEmbd] entering layer `from`. */
interface Drafted {
  draft: number[];
  q: (Dist | undefined)[];
  hidden?: Float32Array;
  from?: number;
}

/** The speculative method a request's options resolve to (see SpeculativeOptions.method). */
function specMethod(s: SpeculativeOptions, hasDraft: boolean): "lookup" | "draft" | "early-exit" {
  return s.method ?? (s.draftLayers !== undefined ? "early-exit" : hasDraft ? "draft" : "lookup");
}

/** The K/V row shape of a model's cache under the engine options (types checked against the model),
 *  without the layer and block counts: the target's layer groups and a draft model's pool share it. */
function kvShape(c: ModelConfig, opts: EngineOptions, blockSize: number) {
  const kvType = opts.kvType ?? "f32";
  const kvTypeV = opts.kvTypeV ?? kvType;
  if (!c.mla) {
    checkKVType(kvType, c.headDimK, "K cache");
    checkKVType(kvTypeV, c.headDimV, "V cache");
  } else if (kvType !== "f32" && kvType !== "f16") {
    throw new InputError(`MLA latent caches are f32 or f16, got ${kvType}`);
  }
  return {
    kWidth: c.mla ? mlaCacheWidth(c.mla) : c.nHeadKV * c.headDimK,
    vWidth: c.mla ? 0 : c.nHeadKV * c.headDimV,
    vFromK: !!c.mla,
    dtype: kvType,
    dtypeV: c.mla ? undefined : kvTypeV,
    ...kvRotation(kvType, kvTypeV, c.headDimK, c.headDimV, { mla: !!c.mla, rotate: opts.kvRotate }),
    blockSize,
    recurrent: recurrentShape(c),
  };
}

/** One KV block pool for every layer of a model (a draft model's). */
function kvPool(model: Transformer, opts: EngineOptions, blockSize: number, nBlocks: number): BlockPool {
  return new BlockPool(
    { ...kvShape(model.config, opts, blockSize), nLayers: model.config.nLayers, nBlocks },
    model.kernels,
    (l) => model.kernelsOf(l),
  );
}

/**
 * Speculative options (a request's, or loadLLM's default): method known and available, maxDraft
 * and n-grams sane, draftLayers inside the model. Throws InputError (field "speculative").
 */
export function checkSpeculative(s: SpeculativeOptions, hasDraft: boolean, c: ModelConfig): void {
  if (s.method !== undefined && s.method !== "lookup" && s.method !== "draft" && s.method !== "early-exit")
    throw new InputError(`speculative method must be 'lookup', 'draft' or 'early-exit', got '${s.method}'`, {
      field: "speculative",
    });
  const method = specMethod(s, hasDraft);
  if (method === "early-exit") {
    const k = s.draftLayers;
    if (!(Number.isInteger(k) && k! >= 1 && k! < c.nLayers))
      throw new InputError(
        `speculative draftLayers must be an integer in 1..${c.nLayers - 1} (the model has ${c.nLayers} layers), got ${k}`,
        { field: "speculative" },
      );
    if (c.recurrentLayers?.some(Boolean))
      throw new InputError("early-exit drafts need a model without recurrent layers", {
        field: "speculative",
      });
  } else if (s.draftLayers !== undefined)
    throw new InputError(`speculative draftLayers is for method 'early-exit', not '${method}'`, {
      field: "speculative",
    });
  if (s.method === "draft" && !hasDraft)
    throw new InputError("speculative method 'draft' needs a draft model", {
      field: "speculative",
      hint: "load one with --draft <gguf> (library: loadLLM's draft option)",
    });
  const pm = s.draftPMin;
  if (pm !== undefined && !(typeof pm === "number" && pm >= 0 && pm <= 1))
    throw new InputError(`speculative draftPMin must be a number in [0, 1], got ${pm}`, {
      field: "speculative",
    });
  for (const k of ["maxDraft", "ngram", "minNgram", "draftPerMatch"] as const) {
    const v = s[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 64))
      throw new InputError(`speculative ${k} must be an integer in 1..64, got ${v}`, {
        field: "speculative",
      });
  }
}

/** Media spans must be sorted, disjoint, inside the prompt, of the model's width; no shifting. */
function checkMedia(req: SequenceRequest, nEmbd: number): void {
  let end = 0;
  for (const m of req.media!) {
    if (!(Number.isInteger(m.start) && Number.isInteger(m.nTokens) && m.nTokens > 0 && m.start >= end))
      throw new InputError(`media span at ${m.start} (+${m.nTokens}) overlaps, is unsorted or empty`);
    end = m.start + m.nTokens;
    if (end > req.prompt.length)
      throw new InputError(
        `media span [${m.start}, ${end}) runs past the prompt (${req.prompt.length} tokens)`,
      );
    if (m.embeddings.length !== m.nTokens * nEmbd)
      throw new InputError(
        `media span of ${m.nTokens} positions needs ${m.nTokens} x ${nEmbd} floats, got ${m.embeddings.length}`,
        { hint: "the projector's output width must equal the language model's n_embd" },
      );
  }
  // Shifts and eviction move positions under the spans; not supported with media.
  if (req.contextShift || req.eviction)
    throw new InputError("context shift and KV eviction are not supported on prompts with images");
}

/** Prefix-cache salt of a prompt's media (their content keys). */
function mediaKey(media: readonly MediaSpan[] | undefined): string {
  return media?.length ? "\u0002" + media.map((m) => `${m.start}:${m.key}`).join("\u0001") : "";
}
