/**
 * The library API: a loaded model with its tokenizer, chat template and engine.
 *   const llm = await loadLLM("model.gguf", { onProgress: (p) => ... });
 *   for await (const c of llm.generate("Once upon", { maxTokens: 32, temperature: 0 })) ...
 *   const s = llm.createSession("You are terse."); for await (const c of s.send("Hi")) ...
 * `generate` streams chunks of every sample (`n`), tagged with its index; `complete` collects.
 */
import { InputError, ModelError, SessionError } from "../errors.js";
import { fingerprintSample, modelFingerprint } from "../gguf/fingerprint.js";
import type { EvictionPolicy } from "../kv/eviction.js";
import { checkDraftVocab, type SpeculativeOptions } from "./speculative.js";
import { hash64 } from "../hash.js";
import {
  checkCompatible,
  decodeSession,
  encodeSession,
  exportPrefix,
  importPrefix,
  poolLayout,
  type SessionChat,
} from "../kv/session.js";
import { isNode, nodeImport } from "../platform/node-import.js";
import { openGGUF, type GGUFInput } from "../gguf/reader.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import {
  createWasmKernelSet,
  wasmPlacementTarget,
  type SimdChoice,
} from "../kernels/wasm/wasm-kernel-set.js";
import {
  modelConfig,
  planModel,
  streamFromFile,
  type ExpertPlacement,
  type WeightPlacement,
  type Transformer,
} from "../model/index.js";
import { planPlacement } from "../model/placement.js";
import type { SamplingParams } from "../sampling/params.js";
import type { TokenConstraint } from "../sampling/grammar/index.js";
import type { TokenLogprob } from "../sampling/logprobs.js";
import { applyChatTemplate, type ChatMessage } from "../tokenizer/chat-template.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { chatWindow, dropOldestTurns } from "./chat-window.js";
import {
  checkSpeculative,
  Engine,
  kvPoolBytesPerLayer,
  type EngineOptions,
  type EngineStats,
} from "./engine.js";
import { mergeIndexed } from "./merge.js";
import { LoraRegistry, type LoraRequest, type LoraSpec } from "./lora-registry.js";
import type { FinishReason, MediaSpan, SequenceRequest } from "./types.js";

export interface LoadProgress {
  /**
   * open: header parsed; kernels: WASM kernels starting; weights: one event per tensor read (with
   * `tensor` and byte counts); bind: weights bound (and repacked into the kernels); ready.
   */
  phase: "open" | "kernels" | "weights" | "bind" | "ready";
  /** 0..1 over the whole load, never decreasing. */
  fraction: number;
  /** weights phase: the tensor just read, and tensor bytes read so far of the file's total. */
  tensor?: string;
  loadedBytes?: number;
  totalBytes?: number;
}

export interface LoadLLMOptions extends EngineOptions {
  /** wasm (SIMD, threaded; default) or ts (plain TypeScript reference). */
  kernels?: "wasm" | "ts";
  threads?: number;
  /** WASM kernel build: "auto" (default; relaxed SIMD where it validates), "relaxed" or "simd128". */
  simd?: SimdChoice;
  onProgress?: (p: LoadProgress) => void;
  /** Built-in chat template name instead of the file's. */
  chatTemplate?: string;
  /** LoRA adapters to load with the model (applied by default at their scale, see LoraRegistry). */
  lora?: LoraSpec[];
  /**
   * Memory budget in bytes (weights, KV pool, working room; the CLI's --max-memory): a model over
   * it is refused with a ModelError before any tensor is read (model/placement.ts).
   */
  maxMemory?: number;
  /**
   * Mixture-of-experts models: "resident" (default), "on-demand" (experts read from the file into
   * an LRU cache within what maxMemory leaves; model/expert-cache.ts) or "auto" (on demand when
   * the model does not fit maxMemory). The CLI's --experts.
   */
  experts?: ExpertPlacement;
  /**
   * Dense models: "resident" (default), "stream" (layer weights read from the file into a few
   * layer slots as layers run, within maxMemory; model/layer-stream.ts) or "auto" (streamed when
   * the model does not fit maxMemory; a MoE model's experts then go on demand). The CLI's --weights.
   */
  weights?: WeightPlacement;
  /**
   * Node, streamed layers: a prepared-layout cache file (written as layers are first packed, then
   * read instead of repacking; model/node-layer-loader.ts). The CLI's --stream-cache.
   */
  streamCache?: string;
  /** WASM: prepared-weight bytes per shard memory (default ~3.75 GiB; see WasmKernelOptions). */
  shardBytes?: number;
  /**
   * A draft model for speculative decoding (the CLI's --draft): same vocabulary as the target
   * (else VocabMismatchError), its own kernels and KV pool (counted in maxMemory). Requests use it
   * with `speculative: { method: "draft", maxDraft }` (or `speculative: {}`).
   */
  draft?: GGUFInput;
  /**
   * Speculative decoding for every request that does not set its own (the CLI's --draft-max /
   * --lookup; server requests get it too). Default with `draft`: { method: "draft" }.
   */
  speculative?: SpeculativeOptions;
  /**
   * Token eviction for every request that does not set its own (the CLI's --kv-evict /
   * --kv-budget; server requests get it too unless they send kv_eviction). Default: none.
   */
  eviction?: EvictionPolicy;
}

/**
 * Where a message's image goes in the rendered chat: the text of an image part (llama.cpp's
 * default media marker, so templates and prompts written for llama.cpp read the same).
 */
export const MEDIA_MARKER = "<__media__>";

/** An image (or other medium) as the language model reads it: rows in its input space. */
export interface MediaInput {
  /** [nTokens][nEmbd] rows, nEmbd the language model's. */
  data: Float32Array;
  nTokens: number;
  /** Content key (the image's hash): prefix-cache salt. */
  key: string;
  /** Text tokenized before / after the rows (Gemma 3: <start_of_image>, <end_of_image>). */
  begin?: string;
  end?: string;
  /** The rows attend to each other bidirectionally (Gemma 3), see MediaSpan.nonCausal. */
  nonCausal?: boolean;
}

/** Token ids with spans of given rows (placeholder ids there): encodeChatMedia's result. */
export interface MediaPrompt {
  tokens: number[];
  media: MediaSpan[];
}

export type GenerateInput = string | number[] | { messages: ChatMessage[] };

export interface GenerateOptions extends SamplingParams {
  /** Spans of an id prompt given as rows (images: encodeChatMedia's `media`, beside its `tokens`). */
  media?: MediaSpan[];
  maxTokens?: number;
  stop?: string | string[];
  /** Extra end-of-generation token ids (added to the vocabulary's set). */
  stopTokens?: number[];
  ignoreEos?: boolean;
  /** Per-token logprobs with this many alternatives (0 = chosen token only). */
  logprobs?: number;
  /** Independent samples of the same prompt (seeds seed, seed+1, ...). */
  n?: number;
  signal?: AbortSignal;
  /** Per-token forcing hook (thinking budget), see SequenceRequest.forceToken. */
  forceToken?: SequenceRequest["forceToken"];
  /** Constrained decoding: a fresh constraint per sample (it holds state), see SequenceRequest.constraint. */
  constraint?: (index: number) => TokenConstraint | undefined;
  /**
   * Keep generating past a full context: keep the first `keep` tokens and shift out older ones
   * (engine/context-shift.ts). maxTokens is then not clipped to the room left in the context.
   */
  contextShift?: { keep: number };
  /** Token eviction with a KV budget (kv/eviction.ts, e.g. new StreamingLLM(256)); maxTokens not clipped. */
  eviction?: EvictionPolicy;
  /**
   * Speculative decoding (engine/speculative.ts): prompt lookup or the draft model; greedy output
   * identical to plain decoding, sampling keeps the target's distribution.
   */
  speculative?: SpeculativeOptions;
  /**
   * LoRA adapters for this request, by id (loaded with loadLLM's `lora` or llm.lora.load), with
   * optional scales. Absent: every loaded adapter at its default scale; [] = the base alone.
   */
  lora?: LoraRequest[];
}

/** ChatSession.send options: GenerateOptions plus what to do when the history outgrows the context. */
export interface ChatSendOptions extends GenerateOptions {
  /**
   * Default true: drop the oldest turns (keeping the system message) until the prompt plus room
   * for an answer fits, and shift the context during a long answer. false: a too-long history is
   * an InputError (as a server request is).
   */
  contextShift?: undefined;
  fitContext?: boolean;
  /** A single message too long for the context even alone: keep its end (true) or throw (default). */
  truncateMessage?: boolean;
  /** Room kept for the answer when dropping turns (default: min(maxTokens, context / 4)). */
  answerRoom?: number;
  /**
   * Images (vision/: their embeddings) put before this message's text. Once a conversation holds
   * one, its history is never dropped nor shifted: a too-long prompt is an InputError.
   */
  images?: MediaInput[];
}

/** What ChatSession did to fit the last turn into the context. */
export interface ContextReport {
  /** Messages of the visible transcript no longer given to the model (oldest first), cumulative. */
  droppedMessages: number;
  /** Messages dropped by this turn. */
  droppedNow: number;
  /** Tokens shifted out while this turn's answer was generated. */
  shiftedTokens: number;
  /** Characters cut from the front of this turn's user message (truncateMessage). */
  truncatedChars: number;
  promptTokens: number;
}

export type GenerationChunk =
  | {
      index: number;
      type: "token";
      token: number;
      text: string;
      logprob?: TokenLogprob;
      top?: TokenLogprob[];
    }
  | {
      index: number;
      type: "done";
      reason: FinishReason;
      text: string;
      promptTokens: number;
      completionTokens: number;
      cachedTokens: number;
      ttftMs: number;
      decodeMs: number;
      seed: number;
      droppedTokens?: number;
      contextShifts?: number;
    };

export interface Completion {
  choices: {
    index: number;
    text: string;
    tokens: number[];
    finishReason: FinishReason;
    logprobs?: { token: TokenLogprob; top: TokenLogprob[] }[];
  }[];
  usage: { promptTokens: number; completionTokens: number; cachedTokens: number };
  ttftMs: number;
}

/** What loadSession/importSession restored. */
export interface RestoredSession {
  /** The saved sequence's token ids (prompt and generated); continue with generate(tokens.concat(more)). */
  tokens: number[];
  /** Positions whose KV is now in the prefix cache (a prompt starting with those tokens skips them). */
  restoredTokens: number;
  /** The conversation, when a ChatSession was saved. */
  chat?: ChatSession;
}

export class LLM {
  readonly engine: Engine;
  /**
   * Identifies the model file in saved sessions (loadLLM: gguf/fingerprint.ts). Without a file,
   * a hash of the config and vocabulary size.
   */
  fingerprint: string;
  /** Loaded LoRA adapters (load / unload / list at runtime). */
  readonly lora: LoraRegistry;
  /** The draft model's own kernels (loadLLM's `draft`), disposed with the target's. */
  draftKernels: KernelSet | undefined;
  constructor(
    readonly model: Transformer,
    readonly tokenizer: Tokenizer,
    readonly kernels: KernelSet | undefined,
    opts: LoadLLMOptions = {},
    readonly name = "model",
  ) {
    this.engine = new Engine(model, tokenizer, opts);
    this.lora = new LoraRegistry(model);
    this.chatTemplate = opts.chatTemplate;
    this.fingerprint = "config:" + hash64(JSON.stringify(model.config) + ":" + tokenizer.nVocab);
    this.speculative = opts.speculative;
    this.eviction = opts.eviction;
  }
  /** Token eviction of requests that give none (loadLLM's `eviction`). */
  eviction: EvictionPolicy | undefined;
  /** Speculative options of requests that give none (loadLLM's `speculative`; see attachDraft). */
  speculative: SpeculativeOptions | undefined;
  private readonly chatTemplate: string | undefined;

  get contextSize(): number {
    return this.engine.contextSize;
  }

  /** Text -> ids with BOS as the vocabulary asks; control tokens in the text are parsed. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { addSpecial: true, parseSpecial: true });
  }

  /** Render messages with the chat template (generation prompt added) and tokenize. */
  encodeChat(messages: ChatMessage[], kwargs?: Record<string, unknown>): number[] {
    const text = applyChatTemplate(this.tokenizer, messages, {
      addGenerationPrompt: true,
      kwargs,
      template: this.chatTemplate,
    });
    return this.tokenizer.encodePrompt(text);
  }

  /**
   * Render messages whose text holds MEDIA_MARKER once per entry of `media` (in order), tokenize
   * the text between markers (BOS on the first piece as encodeChat, control tokens parsed) and put
   * each medium's rows at its marker, as llama.cpp's mtmd does: LLaVA-style projectors with no
   * text around the image, Gemma 3's between its `begin` and `end` texts (each tokenized on its
   * own, control tokens parsed).
   */
  encodeChatMedia(
    messages: ChatMessage[],
    media: readonly MediaInput[],
    kwargs?: Record<string, unknown>,
  ): MediaPrompt {
    const text = applyChatTemplate(this.tokenizer, messages, {
      addGenerationPrompt: true,
      kwargs,
      template: this.chatTemplate,
    });
    return this.encodeMedia(text, media);
  }

  /** A rendered prompt with MEDIA_MARKERs -> token ids and media spans (see encodeChatMedia). */
  encodeMedia(text: string, media: readonly MediaInput[]): MediaPrompt {
    const pieces = text.split(MEDIA_MARKER);
    if (pieces.length - 1 !== media.length)
      throw new InputError(`the prompt has ${pieces.length - 1} image markers for ${media.length} images`, {
        field: "messages",
      });
    const bos = this.tokenizer.bos >= 0 ? this.tokenizer.tokenText(this.tokenizer.bos) : undefined;
    const tokens: number[] = [];
    const spans: MediaSpan[] = [];
    pieces.forEach((piece, i) => {
      const addSpecial = i === 0 && !(bos && text.startsWith(bos));
      tokens.push(...this.tokenizer.encode(piece, { addSpecial, parseSpecial: true }));
      const m = media[i];
      if (!m) return;
      if (m.begin) tokens.push(...this.tokenizer.encode(m.begin, { addSpecial: false, parseSpecial: true }));
      spans.push({
        start: tokens.length,
        nTokens: m.nTokens,
        embeddings: m.data,
        key: m.key,
        ...(m.nonCausal ? { nonCausal: true } : {}),
      });
      // Placeholder ids (any valid id): only their count matters to the forward pass.
      for (let t = 0; t < m.nTokens; t++) tokens.push(0);
      if (m.end) tokens.push(...this.tokenizer.encode(m.end, { addSpecial: false, parseSpecial: true }));
    });
    return { tokens, media: spans };
  }

  /** Stream tokens for a prompt (text, or ids with optional media spans) or a conversation. */
  async *generate(input: GenerateInput, opts: GenerateOptions = {}): AsyncGenerator<GenerationChunk> {
    const media = opts.media;
    if (media?.length && !Array.isArray(input))
      throw new InputError("media spans need a prompt of token ids (encodeChatMedia's tokens)");
    const prompt =
      typeof input === "string"
        ? this.encode(input)
        : Array.isArray(input)
          ? input
          : this.encodeChat(input.messages);
    const n = opts.n ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 16)
      throw new InputError(`n must be an integer in 1..16, got ${n}`, { field: "n" });
    const stop = opts.stop === undefined ? [] : Array.isArray(opts.stop) ? opts.stop : [opts.stop];
    const eog = new Set(this.tokenizer.eog);
    for (const t of opts.stopTokens ?? []) eog.add(t);
    const maxTokens = opts.maxTokens ?? Math.max(1, this.contextSize - prompt.length);
    if (opts.contextShift && !(Number.isInteger(opts.contextShift.keep) && opts.contextShift.keep >= 0))
      throw new InputError(`contextShift.keep must be a non-negative integer`, { field: "contextShift" });
    const lora = this.lora.resolve(opts.lora);
    const eviction = opts.eviction ?? this.eviction;
    const streams = [];
    for (let i = 0; i < n; i++) {
      const seed = opts.seed === undefined ? undefined : opts.seed + i;
      streams.push(
        this.engine.submit({
          prompt,
          maxTokens:
            opts.contextShift || eviction
              ? maxTokens
              : Math.min(maxTokens, Math.max(1, this.contextSize - prompt.length)),
          contextShift: opts.contextShift,
          eviction,
          speculative: opts.speculative ?? this.speculative,
          sampling: { ...opts, seed },
          stop,
          stopTokens: eog,
          ignoreEos: opts.ignoreEos,
          logprobs: opts.logprobs,
          signal: opts.signal,
          forceToken: opts.forceToken,
          constraint: opts.constraint?.(i),
          lora: lora.length ? lora : undefined,
          ...(media?.length ? { media } : {}),
        }),
      );
    }
    for await (const { index, item } of mergeIndexed(streams)) yield { index, ...item };
  }

  /** Run to completion and collect every sample. */
  async complete(input: GenerateInput, opts: GenerateOptions = {}): Promise<Completion> {
    const n = opts.n ?? 1;
    const choices: Completion["choices"] = Array.from({ length: n }, (_, index) => ({
      index,
      text: "",
      tokens: [],
      finishReason: "stop" as FinishReason,
    }));
    const usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
    let ttftMs = 0;
    for await (const c of this.generate(input, opts)) {
      const ch = choices[c.index];
      ch.text += c.text;
      if (c.type === "token") {
        ch.tokens.push(c.token);
        if (c.logprob) (ch.logprobs ??= []).push({ token: c.logprob, top: c.top ?? [] });
      } else {
        ch.finishReason = c.reason;
        usage.promptTokens = c.promptTokens;
        usage.completionTokens += c.completionTokens;
        usage.cachedTokens = Math.max(usage.cachedTokens, c.cachedTokens);
        ttftMs = Math.max(ttftMs, c.ttftMs);
      }
    }
    return { choices, usage, ttftMs };
  }

  createSession(system?: string): ChatSession {
    return new ChatSession(this, system);
  }

  /**
   * A saved session's bytes (kv/session.ts): the KV of a finished sequence's full blocks still in
   * the prefix cache, with its token ids (`target`: the prompt ids followed by the generated ids)
   * or a ChatSession's last turn and transcript.
   */
  exportSession(target: ChatSession | readonly number[]): Uint8Array {
    const chat = target instanceof ChatSession ? target : undefined;
    if (chat?.hasImages)
      throw new InputError("a conversation with images cannot be saved (its KV rows depend on the images)");
    const tokens = chat ? chat.lastTokens : [...(target as readonly number[])];
    const pools = this.engine.pools;
    const { nBlocks, groups, payload } = exportPrefix(
      pools,
      tokens,
      Math.floor(this.contextSize / pools[0].pool.shape.blockSize),
    );
    const state: SessionChat | undefined = chat
      ? {
          messages: chat.messages.map((m) => ({ role: m.role, content: String(m.content) })),
          first: chat.visibleFrom,
        }
      : undefined;
    return encodeSession({
      header: {
        model: this.fingerprint,
        ...poolLayout(pools),
        groups,
        nBlocks,
        tokens,
        ...(state ? { chat: state } : {}),
      },
      payload,
    });
  }

  /**
   * Restore saved bytes: checks model and KV layout (SessionError), publishes the KV blocks in the
   * prefix cache, and rebuilds the ChatSession if one was saved.
   */
  importSession(bytes: Uint8Array, file?: string): RestoredSession {
    const s = decodeSession(bytes, file);
    checkCompatible(s.header, this.fingerprint, this.engine.pools, this.tokenizer.nVocab, file);
    const restoredTokens = importPrefix(this.engine.pools, s);
    let chat: ChatSession | undefined;
    if (s.header.chat) {
      chat = new ChatSession(this);
      chat.messages.push(...s.header.chat.messages);
      chat.visibleFrom = s.header.chat.first;
      chat.lastTokens = s.header.tokens;
    }
    return { tokens: s.header.tokens, restoredTokens, chat };
  }

  /** exportSession written to `path` (Node). */
  async saveSession(target: ChatSession | readonly number[], path: string): Promise<void> {
    const fs = await nodeImport<typeof import("node:fs/promises")>("node:fs/promises", "LLM.saveSession");
    const bytes = this.exportSession(target);
    // Write then rename, so a crash mid-write never leaves a truncated session under `path`.
    const tmp = `${path}.tmp-${process.pid}`;
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  }

  /** importSession of the file at `path` (Node). */
  async loadSession(path: string): Promise<RestoredSession> {
    const fs = await nodeImport<typeof import("node:fs/promises")>("node:fs/promises", "LLM.loadSession");
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(path);
    } catch (e) {
      throw new SessionError("format", `cannot read the session file: ${(e as Error).message}`, {
        file: path,
      });
    }
    return this.importSession(bytes, path);
  }

  stats(): EngineStats {
    return this.engine.stats();
  }

  /** Wait for running sequences, then stop kernel threads. */
  async close(): Promise<void> {
    await this.engine.idle();
    await this.kernels?.dispose();
    await this.draftKernels?.dispose();
    await this.model.openFile?.close();
  }
}

/**
 * A conversation: history kept across turns. Each turn renders the history; the engine's prefix
 * cache finds the previous turns' KV blocks, so only the new part is computed.
 *
 * Long conversations never fail for length (unless fitContext: false): `messages` is the whole
 * visible transcript, and the model sees the system message plus the newest turns that fit with
 * room for an answer (oldest turns dropped first, `context` reports what was dropped). An answer
 * that fills the context keeps going by context shift, keeping the system prompt's tokens.
 */
export class ChatSession {
  readonly messages: ChatMessage[] = [];
  /** Index in `messages` of the oldest non-system message the model still sees. */
  private first = 0;
  /** Images of the conversation, in the order of their MEDIA_MARKERs in `messages`. */
  private readonly images: MediaInput[] = [];
  /** The last turn's sequence: prompt ids then generated ids (what a saved session stores). */
  lastTokens: number[] = [];
  /** What the last turn did to fit (see ContextReport). */
  context: ContextReport = {
    droppedMessages: 0,
    droppedNow: 0,
    shiftedTokens: 0,
    truncatedChars: 0,
    promptTokens: 0,
  };
  constructor(
    readonly llm: LLM,
    system?: string,
  ) {
    if (system) this.messages.push({ role: "system", content: system });
  }

  setSystem(text: string): void {
    if (this.messages[0]?.role === "system") this.messages[0].content = text;
    else {
      this.messages.unshift({ role: "system", content: text });
      if (this.first > 0) this.first++;
    }
  }

  /** Forget the conversation (keeps the system message). */
  reset(): void {
    this.messages.splice(this.messages[0]?.role === "system" ? 1 : 0);
    this.first = 0;
    this.images.length = 0;
  }

  get hasImages(): boolean {
    return this.images.length > 0;
  }

  /** Index in `messages` of the oldest non-system message the model sees (saved sessions). */
  get visibleFrom(): number {
    return this.first;
  }
  set visibleFrom(i: number) {
    if (!Number.isInteger(i) || i < 0 || i > this.messages.length)
      throw new InputError(`visibleFrom must be an index into messages, got ${i}`);
    this.first = i;
  }

  /** Save this conversation and its KV (LLM.saveSession). */
  save(path: string): Promise<void> {
    return this.llm.saveSession(this, path);
  }

  /** The messages the model sees: the system message (if any) and the turns not dropped. */
  window(): ChatMessage[] {
    return chatWindow(this.messages, this.first);
  }

  /** Stream the assistant's answer; it joins the history when the stream ends (also if aborted). */
  async *send(user: string, opts: ChatSendOptions = {}): AsyncGenerator<GenerationChunk> {
    const images = opts.images ?? [];
    this.messages.push({ role: "user", content: MEDIA_MARKER.repeat(images.length) + user });
    this.images.push(...images);
    let answer = "";
    try {
      const { prompt, keep, media } = this.images.length
        ? this.withImages()
        : { ...this.fit(opts), media: [] };
      this.lastTokens = [...prompt];
      for await (const c of this.llm.generate(prompt, {
        ...opts,
        n: 1,
        contextShift: opts.fitContext === false || media.length ? undefined : { keep },
        ...(media.length ? { media } : {}),
      })) {
        answer += c.text;
        if (c.type === "token") this.lastTokens.push(c.token);
        if (c.type === "done") this.context.shiftedTokens = c.droppedTokens ?? 0;
        yield c;
      }
    } finally {
      this.messages.push({ role: "assistant", content: answer });
    }
  }

  /** The prompt of a conversation with images: all of the visible window, nothing dropped. */
  private withImages(): { prompt: number[]; keep: number; media: MediaSpan[] } {
    const w = this.window();
    // Images of messages no longer visible (dropped before the first image came) are skipped.
    const markers = (m: ChatMessage[]) =>
      m.reduce(
        (n, x) => n + (typeof x.content === "string" ? x.content.split(MEDIA_MARKER).length - 1 : 0),
        0,
      );
    const skip = markers(this.messages) - markers(w);
    const p = this.llm.encodeChatMedia(w, this.images.slice(skip));
    const ctx = this.llm.contextSize;
    this.context = {
      ...this.context,
      droppedNow: 0,
      shiftedTokens: 0,
      truncatedChars: 0,
      promptTokens: p.tokens.length,
    };
    if (p.tokens.length >= ctx)
      throw new InputError(
        `the prompt with its images has ${p.tokens.length} tokens; the context holds ${ctx}`,
        {
          field: "messages",
          hint: "start a new conversation (reset) or use a larger context",
        },
      );
    return { prompt: p.tokens, keep: 0, media: p.media };
  }

  /** Drop the oldest turns until the prompt plus room for an answer fits; the prompt ids and n_keep. */
  private fit(opts: ChatSendOptions): { prompt: number[]; keep: number } {
    const llm = this.llm;
    const ctx = llm.contextSize;
    const sys = this.messages[0]?.role === "system" ? 1 : 0;
    const lastUser = this.messages.length - 1;
    const report: ContextReport = { ...this.context, droppedNow: 0, shiftedTokens: 0, truncatedChars: 0 };
    let prompt = llm.encodeChat(this.window());
    if (opts.fitContext !== false) {
      const room = opts.answerRoom ?? Math.min(opts.maxTokens ?? 256, Math.floor(ctx / 4));
      const limit = Math.max(1, ctx - Math.max(1, room));
      if (prompt.length > limit) {
        // Drop the oldest whole turns (engine/chat-window.ts).
        const fitted = dropOldestTurns(this.messages, this.first, limit, (w) => llm.encodeChat(w));
        report.droppedNow += fitted.dropped;
        this.first = fitted.first;
        prompt = fitted.prompt;
      }
      if (prompt.length >= ctx && opts.truncateMessage) {
        // One message alone is too long: keep the end of it (the part nearest the answer).
        const msg = this.messages[lastUser];
        const full = msg.content as string;
        let lo = 0;
        let hi = full.length;
        while (lo < hi) {
          const mid = Math.floor((lo + hi) / 2);
          const w = this.window();
          w[w.length - 1] = { ...msg, content: full.slice(mid) };
          if (llm.encodeChat(w).length <= limit) hi = mid;
          else lo = mid + 1;
        }
        report.truncatedChars = lo;
        const w = this.window();
        w[w.length - 1] = { ...msg, content: full.slice(lo) };
        prompt = llm.encodeChat(w);
      }
    }
    report.droppedMessages = Math.max(0, Math.max(sys, this.first) - sys);
    report.promptTokens = prompt.length;
    this.context = report;
    if (prompt.length >= ctx) {
      throw new InputError(`the prompt has ${prompt.length} tokens; the context holds ${ctx}`, {
        field: "messages",
        hint: "shorten the message (or send with truncateMessage)",
      });
    }
    // n_keep: the tokens of the system part (common prefix with the system message rendered alone),
    // at least 4 attention sinks, at most a quarter of the context.
    let keep = 0;
    if (sys) {
      const head = llm.encodeChat([this.messages[0]]);
      while (keep < head.length && keep < prompt.length && head[keep] === prompt[keep]) keep++;
    }
    keep = Math.min(Math.max(keep, 4), Math.floor(ctx / 4));
    return { prompt, keep };
  }
}

/** Open a GGUF (path in Node; URL, Blob/File, OPFS file or any ByteSource anywhere), build kernels, bind weights, start an engine. */
export async function loadLLM(
  path: GGUFInput | readonly GGUFInput[],
  opts: LoadLLMOptions = {},
): Promise<LLM> {
  const report = opts.onProgress ?? (() => {});
  report({ phase: "open", fraction: 0 });
  const file = await openGGUF(path);
  let kernels: KernelSet | undefined;
  let model: Transformer | undefined;
  try {
    // Placement from the tensor infos first: a model over --max-memory, or with a tensor larger
    // than one memory, is refused before any memory or worker thread exists.
    let targetBytes = 0;
    if ((opts.kernels ?? "wasm") === "wasm")
      targetBytes = planModel(
        file,
        wasmPlacementTarget(opts.shardBytes === undefined ? {} : { shardBytes: opts.shardBytes }),
        {
          maxMemory: opts.maxMemory,
          kvBytesPerLayer: kvPoolBytesPerLayer(modelConfig(file), opts),
          ...(opts.experts ? { experts: opts.experts } : {}),
          ...(opts.weights ? { weights: opts.weights } : {}),
        },
      ).placement.totalBytes;
    report({ phase: "kernels", fraction: 0.1 });
    if ((opts.kernels ?? "wasm") === "wasm")
      kernels = await createWasmKernelSet({
        ...(opts.threads === undefined ? {} : { threads: opts.threads }),
        ...(opts.simd ? { simd: opts.simd } : {}),
        ...(opts.shardBytes === undefined ? {} : { shardBytes: opts.shardBytes }),
      });
    else if (opts.kernels !== "ts")
      throw new InputError(`kernels must be 'wasm' or 'ts', got '${opts.kernels}'`);
    const samples = new Map<string, Uint8Array>();
    const total = file.tensors.reduce((a, t) => a + t.nBytes, 0);
    report({ phase: "weights", fraction: 0.15, loadedBytes: 0, totalBytes: total });
    // streamed layers: read and packed ahead in a worker thread in Node (node-layer-loader.ts)
    const layerLoader =
      isNode && opts.weights !== undefined && opts.weights !== "resident"
        ? (
            await nodeImport<typeof import("../model/node-layer-loader.js")>(
              new URL("../model/node-layer-loader.js", import.meta.url).href,
              "the layer reader thread",
            )
          ).makeNodeLayerLoader(opts.streamCache ? { packedCache: opts.streamCache } : {})
        : undefined;
    model = await streamFromFile(file, {
      ...(layerLoader ? { layerLoader } : {}),
      kernels,
      maxMemory: opts.maxMemory,
      ...(opts.experts ? { experts: opts.experts } : {}),
      ...(opts.weights ? { weights: opts.weights } : {}),
      kvBytesPerLayer: kvPoolBytesPerLayer(modelConfig(file), opts),
      onTensor: (t, bytes, loadedBytes, totalBytes) => {
        samples.set(t.name, fingerprintSample(bytes));
        report({
          phase: "weights",
          fraction: 0.15 + (0.7 * loadedBytes) / Math.max(1, totalBytes),
          tensor: t.name,
          loadedBytes,
          totalBytes,
        });
      },
    });
    report({ phase: "bind", fraction: 0.85 });
    const fingerprint = modelFingerprint(
      file.metadata,
      file.tensors,
      (t) => samples.get(t.name) ?? new Uint8Array(0),
    );
    const tokenizer = Tokenizer.fromMetadata(file.metadata);
    const gname = file.metadata.get("general.name");
    const name = typeof gname === "string" && gname.length > 0 ? gname : file.path.split(/[\\/]/).pop()!;
    const llm = new LLM(model, tokenizer, kernels, opts, name);
    llm.fingerprint = fingerprint;
    if (opts.speculative) checkSpeculative(opts.speculative, opts.draft !== undefined, model.config);
    for (const l of opts.lora ?? []) await llm.lora.load(l);
    if (opts.draft !== undefined) {
      const d = await loadDraft(opts.draft, opts, llm, targetBytes);
      llm.draftKernels = d;
      llm.speculative ??= { method: "draft" };
    }
    report({ phase: "ready", fraction: 1 });
    return llm;
  } catch (e) {
    await kernels?.dispose();
    await model?.openFile?.close();
    throw e;
  } finally {
    // experts on demand and streamed layers keep reading the file: they close it (LLM.close)
    if (!model?.openFile) await file.close();
  }
}

/**
 * Load a draft model beside a loaded target (loadLLM's `draft`): its own WASM kernel set, placed
 * under what the target left of maxMemory with a KV pool as large as the target's; its vocabulary
 * must equal the target's. Returns the draft's kernels (the LLM disposes them on close).
 */
async function loadDraft(
  input: GGUFInput,
  opts: LoadLLMOptions,
  llm: LLM,
  targetBytes: number,
): Promise<KernelSet | undefined> {
  const file = await openGGUF(input);
  let kernels: KernelSet | undefined;
  try {
    const kvOpts = { ...opts, contextSize: llm.contextSize };
    const kvBytesPerLayer = kvPoolBytesPerLayer(modelConfig(file), kvOpts);
    const maxMemory = opts.maxMemory === undefined ? undefined : opts.maxMemory - targetBytes;
    const wasm = (opts.kernels ?? "wasm") === "wasm";
    const shard = opts.shardBytes === undefined ? {} : { shardBytes: opts.shardBytes };
    if (wasm) {
      try {
        planPlacement(file, wasmPlacementTarget(shard), { maxMemory, kvBytesPerLayer });
      } catch (e) {
        if (!(e instanceof ModelError)) throw e;
        throw new ModelError(
          `the draft model does not fit beside the target (${Math.round(targetBytes / 2 ** 20)} MiB): ${e.message}`,
          {
            file: file.path,
            hint: "raise --max-memory or use a smaller draft model",
          },
        );
      }
      kernels = await createWasmKernelSet({
        ...(opts.threads === undefined ? {} : { threads: opts.threads }),
        ...(opts.simd ? { simd: opts.simd } : {}),
        ...shard,
      });
    }
    const model = await streamFromFile(file, { kernels, maxMemory, kvBytesPerLayer });
    checkDraftVocab(
      llm.tokenizer,
      Tokenizer.fromMetadata(file.metadata),
      llm.model.config.nVocab,
      model.config.nVocab,
    );
    llm.engine.attachDraft(model);
    return kernels;
  } catch (e) {
    await kernels?.dispose();
    throw e;
  } finally {
    await file.close();
  }
}
