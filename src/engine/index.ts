/** Engine: continuous batching over a paged, prefix-sharing KV cache. */
export { Engine, type EngineOptions, type EngineStats } from "./engine.js";
export { Scheduler, type SchedulerOptions } from "./scheduler.js";
export { forwardBatch, type Segment } from "./batch-forward.js";
export { StopMatcher } from "./stop.js";
export type {
  MediaSpan,
  SequenceRequest,
  SequenceEvent,
  TokenEvent,
  DoneEvent,
  FinishReason,
} from "./types.js";
