/**
 * edgellm, the library: load a GGUF and generate.
 *
 *   import { loadLLM } from "edgellm";
 *   const llm = await loadLLM("model.gguf", { onProgress: (p) => console.log(p.phase, p.fraction) });
 *   for await (const c of llm.generate("Hello", { maxTokens: 16, temperature: 0 })) process.stdout.write(c.text);
 *   await llm.close();
 *   // test-time reasoning: import { reasoning } from "edgellm"; reasoning.runStrategy(reasoning.llmGenerator(llm, q), {...})
 */
export { loadLLM, LLM, ChatSession, type LoadLLMOptions, type LoadProgress, type GenerateOptions, type GenerationChunk, type Completion } from "./engine/llm.js";
export { Engine, type EngineOptions, type EngineStats } from "./engine/engine.js";
export type { SequenceRequest, SequenceEvent, TokenEvent, DoneEvent, FinishReason } from "./engine/types.js";
export { Sampler, type SamplingParams, type TokenLogprob } from "./sampling/index.js";
export { Tokenizer } from "./tokenizer/tokenizer.js";
export type { ChatMessage } from "./tokenizer/chat-template.js";
export { loadModel, Transformer, type ModelConfig } from "./model/index.js";
export { EdgeLLMError, GGUFError, ModelError, TokenizerError, InputError, KernelError } from "./errors.js";
export * as verify from "./verify/index.js";
export * as reasoning from "./reasoning/index.js";
export * as tools from "./tools/index.js";
export * as router from "./router/index.js";
export { openGGUF, parseGGUF, type GGUFFile } from "./gguf/reader.js";
export { GGUFWriter } from "./gguf/writer.js";
export { GGMLType } from "./gguf/types.js";
