/**
 * A chat request's decoded images (openai/image-parts.ts) -> the LLM's prompt with media spans:
 * each image is encoded by the served vision model once per content (SHA-256 of its pixels and
 * size: the embedding cache and the prefix-cache salt), and its rows go where the part sat
 * (MEDIA_MARKER in the message text, LLM.encodeChatMedia).
 */
import { createHash } from "node:crypto";
import type { MediaPrompt } from "../engine/llm.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import type { ImageInput } from "./openai/image-parts.js";
import { imagesUnsupported } from "./openai/image-parts.js";
import type { ServerContext } from "./context.js";

/** The prompt of a chat with images; a 400 (model_not_multimodal) when no vision model is served. */
export function mediaPrompt(
  ctx: ServerContext,
  r: { model: string; messages: ChatMessage[]; images?: ImageInput[] },
  kwargs: Record<string, unknown> | undefined,
): MediaPrompt {
  const v = ctx.vision;
  if (!v) throw imagesUnsupported(r);
  const media = (r.images ?? []).map(({ image }) => {
    const key = createHash("sha256")
      .update(`${image.width}x${image.height}:`)
      .update(image.data)
      .digest("hex");
    const before = v.cache.encoded;
    const e = v.cache.get(key, () => v.model.encodeImage(image));
    if (v.cache.encoded > before) ctx.metrics.imagesEncoded.inc();
    else ctx.metrics.imageCacheHits.inc();
    return { data: e.data, nTokens: e.nTokens, key, begin: e.begin, end: e.end, nonCausal: e.nonCausal };
  });
  return ctx.llm.encodeChatMedia(r.messages, media, kwargs);
}
