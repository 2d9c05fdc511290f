/**
 * The engine's batched forward step is the model's one forward pass (src/model/forward.ts); this
 * module only re-exports it under the engine's name.
 */
export { forwardBatch, type Segment } from "../model/forward.js";
