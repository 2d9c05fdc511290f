/**
 * edgellm, the library: load a GGUF and generate.
 *
 *   import { loadLLM } from "edgellm";
 *   const llm = await loadLLM("model.gguf", { onProgress: (p) => console.log(p.phase, p.fraction) });
 *   for await (const c of llm.generate("Hello", { maxTokens: 16, temperature: 0 })) process.stdout.write(c.text);
 *   await llm.close();
 *   // test-time reasoning: import { reasoning } from "edgellm"; reasoning.runStrategy(reasoning.llmGenerator(llm, q), {...})
 *
 * This entry runs anywhere (Node, browsers, workers): it imports no `node:*` module at load time
 * (test/web/bundle.test.ts bundles it for the browser and checks). `loadLLM` takes a file path in
 * Node and a URL, Blob/File or ByteSource anywhere. Node-only parts (tool calling with files and
 * the sandbox, MCP, routing, the server, the CLI) are in `edgellm/node`; the browser worker host
 * and OPFS model cache in `edgellm/web`.
 */
export {
  loadLLM,
  LLM,
  ChatSession,
  type LoadLLMOptions,
  type LoadProgress,
  type GenerateOptions,
  type GenerationChunk,
  type Completion,
  type RestoredSession,
  MEDIA_MARKER,
  type MediaInput,
  type MediaPrompt,
  type GenerateInput,
} from "./engine/llm.js";
export {
  StreamingLLM,
  SlidingWindow,
  H2O,
  SnapKV,
  slidingWindowPolicy,
  type EvictionPolicy,
} from "./kv/eviction.js";
export { Engine, type EngineOptions, type EngineStats } from "./engine/engine.js";
export { LoraRegistry, type LoraSpec, type LoraRequest, type LoraInfo } from "./engine/lora-registry.js";
export { LoraAdapter, type LoraRef } from "./model/lora.js";
export type { SequenceRequest, SequenceEvent, TokenEvent, DoneEvent, FinishReason } from "./engine/types.js";
export { Sampler, type SamplingParams, type TokenLogprob } from "./sampling/index.js";
export { Tokenizer } from "./tokenizer/tokenizer.js";
export type { ChatMessage } from "./tokenizer/chat-template.js";
export { loadModel, Transformer, type ModelConfig } from "./model/index.js";
export {
  EdgeLLMError,
  GGUFError,
  ModelError,
  TokenizerError,
  InputError,
  KernelError,
  SessionError,
  ImageError,
  UnsupportedProjectorError,
} from "./errors.js";
export * as vision from "./vision/index.js";
export * as verify from "./verify/index.js";
export * as reasoning from "./reasoning/index.js";
export { openGGUF, parseGGUF, type GGUFFile } from "./gguf/reader.js";
export {
  blobSource,
  httpSource,
  memorySource,
  fileSource,
  type ByteSource,
  type GGUFInput,
  type HttpSourceOptions,
} from "./gguf/byte-source.js";
export { GGUFWriter } from "./gguf/writer.js";
export { GGMLType } from "./gguf/types.js";
