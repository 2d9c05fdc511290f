/**
 * Image -> encoder input, as llama.cpp's mtmd preprocessors do it (tools/mtmd/mtmd-image.cpp):
 *
 *   fixed size (LLaVA-style "mlp" projectors without image_grid_pinpoints): scale the image to fit
 *   image_size x image_size keeping its aspect ratio (new side = min(ceil(side * scale), S), scale
 *   = min(S / w, S / h) in float), Pillow bicubic, centred on a canvas filled with RGB
 *   (122, 116, 104) at ((S - w') / 2, (S - h') / 2); an image already S x S is used as is.
 *   gemma3 (SigLIP): the same fit-and-centre with Pillow bilinear on a black canvas (llama.cpp's
 *   fixed-size preprocessor with its RESIZE_ALGO_BILINEAR and default pad colour).
 *   normalize: v = (u8 / 255 - mean[c]) / std[c] in float, written planar [3][S][S] (the layout
 *   of the patch convolution's input).
 */
import { checkRgb, type RgbImage } from "./image.js";
import type { VisionConfig } from "./mmproj.js";
import { resizeRgb, type ResizeFilter } from "./resample.js";

const f = Math.fround;

/** The canvas colour LLaVA's processor pads with (its image mean, in 0..255). */
export const LLAVA_PAD_COLOR: readonly [number, number, number] = [122, 116, 104];

/** Fit inside width x height keeping the aspect ratio, centred on a `pad`-coloured canvas. */
export function resizeWithPad(
  img: RgbImage,
  width: number,
  height: number,
  filter: ResizeFilter,
  pad: readonly [number, number, number],
): RgbImage {
  if (img.width === width && img.height === height) return { width, height, data: img.data.slice() };
  const scale = Math.min(f(width / img.width), f(height / img.height));
  const nw = Math.min(Math.ceil(f(img.width * scale)), width);
  const nh = Math.min(Math.ceil(f(img.height * scale)), height);
  const resized = resizeRgb(img, nw, nh, filter);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(pad, i * 3);
  const ox = Math.trunc((width - nw) / 2);
  const oy = Math.trunc((height - nh) / 2);
  for (let y = 0; y < nh; y++) {
    data.set(resized.data.subarray(y * nw * 3, (y + 1) * nw * 3), ((y + oy) * width + ox) * 3);
  }
  return { width, height, data };
}

/** u8 RGB (interleaved) -> planar [3][h][w] float, (v / 255 - mean) / std per channel. */
export function normalizePlanar(
  img: RgbImage,
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const m = mean.map(f);
  const s = std.map(f);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[c * n + i] = f(f(f(img.data[i * 3 + c]! / 255) - m[c]!) / s[c]!);
  }
  return out;
}

/** The square u8 image the encoder will see (before normalization). */
export function fitToEncoder(img: RgbImage, c: VisionConfig): RgbImage {
  checkRgb(img);
  if (c.projector === "gemma3") return resizeWithPad(img, c.imageSize, c.imageSize, "bilinear", [0, 0, 0]);
  return resizeWithPad(img, c.imageSize, c.imageSize, "bicubic", LLAVA_PAD_COLOR);
}

/** Image -> normalized planar pixels [3][S][S] for `encode`. */
export function preprocess(img: RgbImage, c: VisionConfig): Float32Array {
  return normalizePlanar(fitToEncoder(img, c), c.mean, c.std);
}
