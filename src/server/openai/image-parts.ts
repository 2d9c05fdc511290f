/**
 * OpenAI image content parts, validated at the edge (issue #22):
 *
 *   {"type": "image_url", "image_url": {"url": "data:image/png;base64,....", "detail": "auto"}}
 *
 * Only `data:` URLs with a base64 payload are accepted; http(s) URLs are refused (a local server
 * does not fetch for its clients). The payload is size-checked from its base64 length before it
 * is decoded, then decoded to RGB (vision/decode.ts: PNG, JPEG; limits from the header first).
 * Every failure is a 400 naming the part: `messages[i].content[j]`.
 */
import { z } from "zod";
import { ImageError } from "../../errors.js";
import { decodeImage, DEFAULT_IMAGE_LIMITS, type ImageLimits } from "../../vision/decode.js";
import type { RgbImage } from "../../vision/image.js";
import { type ApiError, badRequest } from "./errors.js";

/** A decoded image part and where it sat in the request. */
export interface ImageInput {
  /** Index of the message and of the part within its content array. */
  message: number;
  part: number;
  image: RgbImage;
  /** Encoded size in bytes. */
  bytes: number;
}

const ImageUrlPart = z.object({
  type: z.literal("image_url"),
  image_url: z.object({
    url: z.string(),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Validate and decode one `image_url` part (messages[i].content[j]). */
export function parseImagePart(p: unknown, i: number, j: number, limits: ImageLimits = {}): ImageInput {
  const param = `messages[${i}].content[${j}]`;
  const r = ImageUrlPart.safeParse(p);
  if (!r.success)
    throw badRequest(`${param} must be {type: "image_url", image_url: {url}}`, param, "invalid_type");
  const url = r.data.image_url.url;
  if (/^https?:/i.test(url))
    throw badRequest(
      `${param}: remote image URLs are not fetched by this server; send the image as a data: URL`,
      param,
      "invalid_image_url",
    );
  const m = DATA_URL.exec(url);
  if (!m) throw badRequest(`${param}: the image URL must be a data: URL`, param, "invalid_image_url");
  const mime = m[1]!.toLowerCase();
  if (mime !== "" && !mime.startsWith("image/"))
    throw badRequest(`${param}: data URL of type '${mime}' is not an image`, param, "invalid_image");
  if (!m[2]!.split(";").includes("base64"))
    throw badRequest(`${param}: the image data URL must be base64-encoded`, param, "invalid_image_url");
  const payload = url.slice(m[0].length).replace(/\s+/g, "");
  const maxBytes = limits.maxBytes ?? DEFAULT_IMAGE_LIMITS.maxBytes;
  if (Math.floor((payload.length * 3) / 4) > maxBytes + 2)
    throw badRequest(`${param}: image is over the ${maxBytes}-byte limit`, param, "invalid_image");
  if (payload.length % 4 === 1 || !BASE64.test(payload))
    throw badRequest(`${param}: the image data is not valid base64`, param, "invalid_image");
  const bytes = decodeBase64(payload);
  try {
    return { message: i, part: j, image: decodeImage(bytes, limits), bytes: bytes.length };
  } catch (e) {
    if (e instanceof ImageError) throw badRequest(`${param}: ${e.message}`, param, "invalid_image");
    throw e;
  }
}

/** The 400 for valid image parts sent to a model that has no vision encoder loaded. */
export function imagesUnsupported(r: { model: string; images?: ImageInput[] }): ApiError {
  const first = r.images?.[0];
  const param = first ? `messages[${first.message}].content[${first.part}]` : "messages";
  return badRequest(
    `model '${r.model}' does not accept image input (no vision encoder loaded)`,
    param,
    "model_not_multimodal",
  );
}
