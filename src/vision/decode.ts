/**
 * Encoded image bytes -> RgbImage, with limits checked before any pixel buffer is allocated.
 *
 *   const img = decodeImage(bytes, { maxBytes: 20 << 20, maxPixels: 1 << 25 });
 *
 * Formats: PNG (fast-png: every bit depth, palette, interlace) and JPEG (jpeg-js: baseline and
 * progressive), both pure JS. jpeg-js also holds Node Buffer code (its encoder, its non-typed-array
 * output) that this path never runs, so the module is exported from `edgellm/node`, not from the
 * browser entry; browsers will decode through the platform. Anything else (WebP, GIF,
 * BMP, not an image) is an ImageError naming the format. As llama.cpp's loader (stb_image asked
 * for 3 channels), alpha is dropped, grey is replicated to RGB and 16-bit samples keep their high
 * byte; JPEG decoders round the IDCT differently, so JPEG pixels may differ from llama.cpp's by a
 * level or two.
 *
 * Order of checks: byte size, format sniffed from the magic bytes, width x height read from the
 * header (PNG IHDR, JPEG SOFn) against maxPixels, for PNG the inflated size of the IDAT stream
 * against what the header implies (a zlib bomb stops after one slice past it), then decoding;
 * a decoder exception (corrupt data) becomes an ImageError too.
 */
import { decode as decodePng, convertIndexedToRgb, type DecodedPng } from "fast-png";
import { Unzlib } from "fflate";
import { decode as decodeJpegJs } from "jpeg-js";
import { ImageError } from "../errors.js";
import type { RgbImage } from "./image.js";

export type ImageFormat = "png" | "jpeg" | "webp" | "gif" | "bmp";

export interface ImageLimits {
  /** Encoded size limit in bytes. Default 20 MiB. */
  maxBytes?: number;
  /** width * height limit. Default 2^25 (32 Mi pixels: 8K UHD fits). */
  maxPixels?: number;
}

export const DEFAULT_IMAGE_LIMITS: Required<ImageLimits> = { maxBytes: 20 << 20, maxPixels: 1 << 25 };

const SUPPORTED: readonly ImageFormat[] = ["png", "jpeg"];

/** The format the magic bytes announce, if any we know. */
export function sniffImageFormat(b: Uint8Array): ImageFormat | undefined {
  const at = (o: number, ...v: number[]) => v.every((x, i) => b[o + i] === x);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (at(0, 0xff, 0xd8, 0xff)) return "jpeg";
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return "webp";
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return "gif";
  if (at(0, 0x42, 0x4d)) return "bmp";
  return undefined;
}

const u16be = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32be = (b: Uint8Array, o: number) =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** Width and height from the header alone (no decoding). */
export function readImageSize(b: Uint8Array, format: ImageFormat): { width: number; height: number } {
  if (format === "png") {
    // Signature (8), then the IHDR chunk: length (4), "IHDR", width (4), height (4).
    if (b.length < 24 || u32be(b, 12) !== 0x49484452)
      throw new ImageError("corrupt PNG: no IHDR chunk first");
    return { width: u32be(b, 16), height: u32be(b, 20) };
  }
  if (format === "jpeg") {
    let o = 2;
    while (o + 4 <= b.length) {
      if (b[o] !== 0xff) throw new ImageError(`corrupt JPEG: no marker at byte ${o}`);
      const m = b[o + 1]!;
      if (m === 0xff) {
        o++; // fill byte
        continue;
      }
      if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
        o += 2;
        continue;
      }
      if (m === 0xd9 || m === 0xda) break; // EOI or start of scan before any frame header
      const len = u16be(b, o + 2);
      const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
      if (isSof) {
        if (o + 9 > b.length) break;
        return { width: u16be(b, o + 7), height: u16be(b, o + 5) };
      }
      o += 2 + len;
    }
    throw new ImageError("corrupt JPEG: no frame header (SOF) before the image data");
  }
  throw new ImageError(`cannot read the size of a ${format} image`);
}

/** PNG IHDR colour type -> samples per pixel. */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Inflate the IDAT stream in small slices, refusing it once it outgrows the size the header
 * implies (filter byte per row; Adam7 adds at most 7 passes' worth of row bytes).
 */
function checkPngInflatedSize(b: Uint8Array, width: number, height: number): void {
  const depth = b[24]!;
  const channels = PNG_CHANNELS[b[25]!];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(depth))
    throw new ImageError(`corrupt PNG: colour type ${b[25]} with bit depth ${depth}`);
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const limit = height * (rowBytes + 1) + 7 * (height + rowBytes + 8);
  let total = 0;
  const z = new Unzlib((chunk) => {
    total += chunk.length;
  });
  const SLICE = 4096;
  let o = 8;
  while (o + 12 <= b.length) {
    const len = u32be(b, o);
    const type = u32be(b, o + 4);
    const end = o + 12 + len;
    if (end > b.length) throw new ImageError("corrupt PNG: truncated chunk");
    if (type === 0x49444154) {
      // "IDAT"
      for (let p = o + 8; p < o + 8 + len; p += SLICE) {
        z.push(b.subarray(p, Math.min(p + SLICE, o + 8 + len)));
        if (total > limit)
          throw new ImageError(
            `corrupt PNG: image data inflates past the ${width}x${height} the header states`,
          );
      }
    }
    if (type === 0x49454e44) return; // "IEND"
    o = end;
  }
}

function pngToRgb(p: DecodedPng): Uint8Array {
  const n = p.width * p.height;
  const out = new Uint8Array(n * 3);
  if (p.palette) {
    const rgbx = convertIndexedToRgb(p);
    const ch = rgbx.length / n;
    for (let i = 0; i < n; i++) out.set(rgbx.subarray(i * ch, i * ch + 3), i * 3);
    return out;
  }
  const ch = p.channels;
  // Samples to 8 bits: 16-bit keep their high byte, 1/2/4-bit grey are unpacked and scaled.
  let s: ArrayLike<number> = p.data;
  if (p.depth === 16) s = Uint8Array.from(p.data as Uint16Array, (v) => v >> 8);
  else if (p.depth < 8) {
    const d = p.depth;
    const rowBytes = Math.ceil((p.width * d) / 8);
    const scale = 255 / ((1 << d) - 1);
    const g = new Uint8Array(n);
    for (let y = 0; y < p.height; y++)
      for (let x = 0; x < p.width; x++) {
        const bit = x * d;
        const byte = p.data[y * rowBytes + (bit >> 3)]!;
        g[y * p.width + x] = ((byte >> (8 - d - (bit & 7))) & ((1 << d) - 1)) * scale;
      }
    s = g;
  }
  for (let i = 0; i < n; i++) {
    if (ch >= 3) {
      out[i * 3] = s[i * ch]!;
      out[i * 3 + 1] = s[i * ch + 1]!;
      out[i * 3 + 2] = s[i * ch + 2]!;
    } else {
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = s[i * ch]!;
    }
  }
  return out;
}

/** Decode PNG or JPEG bytes to RGB within `limits`; every failure is an ImageError. */
export function decodeImage(bytes: Uint8Array, limits: ImageLimits = {}): RgbImage {
  const maxBytes = limits.maxBytes ?? DEFAULT_IMAGE_LIMITS.maxBytes;
  const maxPixels = limits.maxPixels ?? DEFAULT_IMAGE_LIMITS.maxPixels;
  if (bytes.length > maxBytes)
    throw new ImageError(`image is ${bytes.length} bytes, over the ${maxBytes}-byte limit`);
  const format = sniffImageFormat(bytes);
  if (format === undefined) throw new ImageError("not an image: unknown format (supported: png, jpeg)");
  if (!SUPPORTED.includes(format))
    throw new ImageError(`unsupported image format '${format}' (supported: png, jpeg)`);
  const { width, height } = readImageSize(bytes, format);
  if (width === 0 || height === 0) throw new ImageError(`image size ${width}x${height} is empty`);
  if (width * height > maxPixels)
    throw new ImageError(
      `image is ${width}x${height} = ${width * height} pixels, over the ${maxPixels}-pixel limit`,
    );
  try {
    if (format === "png") {
      checkPngInflatedSize(bytes, width, height);
      const p = decodePng(bytes, { checkCrc: true });
      if (p.width !== width || p.height !== height)
        throw new ImageError("corrupt PNG: size changed while decoding");
      return { width, height, data: pngToRgb(p) };
    }
    const j = decodeJpegJs(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((maxPixels * 8) / (1 << 20)) + 64,
    });
    if (j.width !== width || j.height !== height)
      throw new ImageError("corrupt JPEG: size changed while decoding");
    return { width, height, data: new Uint8Array(j.data.buffer, j.data.byteOffset, width * height * 3) };
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`corrupt ${format.toUpperCase()}: ${(e as Error).message}`);
  }
}
