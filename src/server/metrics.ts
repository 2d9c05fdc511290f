/**
 * Prometheus metrics (prom-client, own registry): latency histograms observed by the routes,
 * engine state read at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Engine } from "../engine/engine.js";

export class Metrics {
  readonly registry = new Registry();
  readonly ttft: Histogram;
  readonly tpot: Histogram;
  readonly e2e: Histogram;
  readonly requests: Counter;
  readonly generated: Counter;
  readonly prompt: Counter;
  /** Images run through the vision encoder, and images answered from its embedding cache. */
  readonly imagesEncoded: Counter;
  readonly imageCacheHits: Counter;

  constructor(engine: Engine, lora?: { readonly bytes: number; list(): unknown[] }) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: "edgellm_process_" });
    this.ttft = new Histogram({
      name: "edgellm_time_to_first_token_seconds",
      help: "Request arrival to first generated token",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [r],
    });
    this.tpot = new Histogram({
      name: "edgellm_time_per_output_token_seconds",
      help: "Gap between consecutive generated tokens",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
    this.e2e = new Histogram({
      name: "edgellm_request_duration_seconds",
      help: "Whole request latency",
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [r],
    });
    this.requests = new Counter({
      name: "edgellm_requests_total",
      help: "Requests by endpoint and status",
      labelNames: ["endpoint", "status"],
      registers: [r],
    });
    this.generated = new Counter({
      name: "edgellm_generation_tokens_total",
      help: "Tokens generated",
      registers: [r],
    });
    this.prompt = new Counter({
      name: "edgellm_prompt_tokens_total",
      help: "Prompt tokens received",
      registers: [r],
    });
    this.imagesEncoded = new Counter({
      name: "edgellm_images_encoded_total",
      help: "Images run through the vision encoder",
      registers: [r],
    });
    this.imageCacheHits = new Counter({
      name: "edgellm_image_cache_hits_total",
      help: "Images whose embeddings came from the cache (not encoded again)",
      registers: [r],
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(read());
        },
      });
    gauge("edgellm_requests_running", "Sequences in the running batch", () => engine.stats().running);
    gauge(
      "edgellm_requests_waiting",
      "Sequences waiting for a slot or KV blocks",
      () => engine.stats().waiting,
    );
    gauge(
      "edgellm_kv_cache_usage_ratio",
      "Fraction of KV blocks held by live sequences",
      () => engine.stats().kvUsage,
    );
    gauge(
      "edgellm_kv_cache_blocks_cached",
      "Unreferenced KV blocks kept for prefix reuse",
      () => engine.stats().kv.cached,
    );
    gauge(
      "edgellm_prefix_cache_hit_rate",
      "Prompt tokens served from the prefix cache / prompt tokens",
      () => {
        const s = engine.stats();
        return s.promptTokens ? s.cachedPromptTokens / s.promptTokens : 0;
      },
    );
    gauge(
      "edgellm_prefix_cache_hits",
      "Prompt tokens served from the prefix cache",
      () => engine.stats().cachedPromptTokens,
    );
    gauge("edgellm_preemptions", "Sequences preempted for KV memory", () => engine.stats().preemptions);
    // Speculative decoding (engine/speculative.ts): the engine's running totals as counters.
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counter(
      "edgellm_spec_drafted_tokens_total",
      "Draft tokens verified by the target (prompt lookup or draft model)",
      () => engine.stats().draftTokens,
    );
    counter(
      "edgellm_spec_accepted_tokens_total",
      "Draft tokens accepted by the target",
      () => engine.stats().acceptedDraftTokens,
    );
    counter(
      "edgellm_spec_draft_forwards_total",
      "Forward passes of the draft model, or of the first layers (early exit: --draft-layers)",
      () => engine.stats().draftForwards,
    );
    counter("edgellm_engine_steps_total", "Forward steps of the target model", () => engine.stats().steps);
    // Experts on demand (model/expert-cache.ts): cache hits, misses and file bytes read.
    const experts = engine.model.expertCache;
    if (experts) {
      counter(
        "edgellm_expert_cache_hits_total",
        "Expert uses served from the expert cache",
        () => experts.stats().hits,
      );
      counter(
        "edgellm_expert_cache_misses_total",
        "Expert uses that read the expert from the file",
        () => experts.stats().misses,
      );
      counter(
        "edgellm_expert_read_bytes_total",
        "Bytes of expert weights read from the file",
        () => experts.stats().bytesRead,
      );
      gauge("edgellm_expert_cache_slots", "Experts the cache holds at once", () => experts.stats().slots);
    }
    // Dense streaming (model/layer-stream.ts): layers read into slots, bytes, read and repack time.
    const stream = engine.model.layerStream;
    if (stream) {
      counter(
        "edgellm_layer_stream_loads_total",
        "Layers read from the file into a layer slot",
        () => stream.stats().loads,
      );
      counter(
        "edgellm_layer_stream_read_bytes_total",
        "Bytes of layer weights read from the file",
        () => stream.stats().bytesRead,
      );
      counter(
        "edgellm_layer_stream_read_seconds_total",
        "Seconds the forward pass waited for layer reads",
        () => stream.stats().readMs / 1000,
      );
      counter(
        "edgellm_layer_stream_repack_seconds_total",
        "Seconds spent repacking streamed layers into their slots",
        () => stream.stats().repackMs / 1000,
      );
      gauge("edgellm_layer_stream_slots", "Layer slots in kernel memory", () => stream.stats().slots);
    }
    if (lora) {
      gauge("edgellm_lora_adapters", "LoRA adapters loaded", () => lora.list().length);
      gauge(
        "edgellm_lora_adapter_bytes",
        "Bytes of the loaded LoRA adapters' A/B matrices",
        () => lora.bytes,
      );
    }
  }
}
