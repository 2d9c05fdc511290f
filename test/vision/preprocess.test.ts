/**
 * Preprocessing (resize, pad, normalize) on its own. The byte-exact match with llama.cpp's
 * Pillow-style resampler is checked end to end by the golden cases whose image is not
 * image_size square (golden.test.ts); these are the properties any correct version has.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizePlanar, resizeRgb, resizeWithPad } from "../../src/vision/index.js";
import { LLAVA_PAD_COLOR, preprocess } from "../../src/vision/preprocess.js";
import { checkRgb, type RgbImage } from "../../src/vision/image.js";
import { ImageError } from "../../src/errors.js";
import type { VisionConfig } from "../../src/vision/mmproj.js";

function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

function noise(width: number, height: number, seed: number): RgbImage {
  let s = seed;
  const data = new Uint8Array(width * height * 3).map(() => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 24;
  });
  return { width, height, data };
}

test("every filter keeps a solid colour solid, up and down", () => {
  const img = solid(37, 23, [200, 17, 99]);
  for (const filter of ["bilinear", "bicubic", "lanczos"] as const) {
    for (const [w, h] of [
      [80, 50],
      [9, 7],
      [37, 5],
      [1, 1],
    ]) {
      const r = resizeRgb(img, w!, h!, filter);
      assert.equal(r.data.length, w! * h! * 3);
      for (let i = 0; i < w! * h!; i++)
        assert.deepEqual([...r.data.subarray(i * 3, i * 3 + 3)], [200, 17, 99], filter);
    }
  }
});

test("halving with bilinear averages 2x2 blocks (Pillow's triangle filter at scale 2)", () => {
  const img = noise(8, 6, 3);
  const r = resizeRgb(img, 4, 3, "bilinear");
  // Scale 2: support 2, weights 1/8, 3/8, 3/8, 1/8 over 4 inputs: not a plain box; check against a
  // direct evaluation in double of the same separable filter with the same rounding points.
  const tap = (x: number) => Math.max(0, 1 - Math.abs(x) / 2);
  const weights = (o: number, n: number) => {
    const c = (o + 0.5) * 2;
    const lo = Math.max(0, Math.trunc(c - 2 + 0.5));
    const hi = Math.min(n, Math.trunc(c + 2 + 0.5));
    const w: [number, number][] = [];
    for (let i = lo; i < hi; i++) w.push([i, tap(i - c + 0.5)]);
    const s = w.reduce((a, [, v]) => a + v, 0);
    return w.map(([i, v]) => [i, Math.trunc((v / s) * 2 ** 22 + 0.5)] as [number, number]);
  };
  const mid = new Uint8Array(4 * 6 * 3);
  for (let y = 0; y < 6; y++)
    for (let x = 0; x < 4; x++)
      for (let ch = 0; ch < 3; ch++) {
        let s = 2 ** 21;
        for (const [i, w] of weights(x, 8)) s += img.data[(y * 8 + i) * 3 + ch]! * w;
        mid[(y * 4 + x) * 3 + ch] = Math.min(255, Math.max(0, Math.floor(s / 2 ** 22)));
      }
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 4; x++)
      for (let ch = 0; ch < 3; ch++) {
        let s = 2 ** 21;
        for (const [i, w] of weights(y, 6)) s += mid[(i * 4 + x) * 3 + ch]! * w;
        assert.equal(r.data[(y * 4 + x) * 3 + ch], Math.min(255, Math.max(0, Math.floor(s / 2 ** 22))));
      }
});

test("resizeWithPad: aspect kept, image centred on the pad colour, same size untouched", () => {
  const img = solid(150, 97, [10, 20, 30]);
  const r = resizeWithPad(img, 112, 112, "bicubic", LLAVA_PAD_COLOR);
  // scale = min(112/150, 112/97) = 0.7467 -> 112 x ceil(72.43) = 73, rows 19..91.
  const at = (x: number, y: number) => [...r.data.subarray((y * 112 + x) * 3, (y * 112 + x) * 3 + 3)];
  assert.deepEqual(at(50, 18), [...LLAVA_PAD_COLOR]);
  assert.deepEqual(at(50, 19), [10, 20, 30]);
  assert.deepEqual(at(0, 91), [10, 20, 30]);
  assert.deepEqual(at(111, 92), [...LLAVA_PAD_COLOR]);
  const tall = resizeWithPad(solid(61, 130, [1, 2, 3]), 84, 84, "bicubic", LLAVA_PAD_COLOR);
  // scale = 84/130 -> ceil(39.41) = 40 wide at x 22..61.
  const t = (x: number) => [...tall.data.subarray((40 * 84 + x) * 3, (40 * 84 + x) * 3 + 3)];
  assert.deepEqual(t(21), [...LLAVA_PAD_COLOR]);
  assert.deepEqual(t(22), [1, 2, 3]);
  assert.deepEqual(t(61), [1, 2, 3]);
  assert.deepEqual(t(62), [...LLAVA_PAD_COLOR]);
  const same = noise(112, 112, 9);
  assert.deepEqual(resizeWithPad(same, 112, 112, "bicubic", LLAVA_PAD_COLOR).data, same.data);
});

test("normalize: (v / 255 - mean) / std in float, planar", () => {
  const img: RgbImage = { width: 2, height: 1, data: new Uint8Array([0, 128, 255, 255, 0, 64]) };
  const out = normalizePlanar(img, [0.5, 0.25, 0.125], [0.5, 0.25, 2]);
  const f = Math.fround;
  const v = (u: number, m: number, s: number) => f(f(f(u / 255) - f(m)) / f(s));
  assert.deepEqual(
    [...out],
    [
      v(0, 0.5, 0.5),
      v(255, 0.5, 0.5),
      v(128, 0.25, 0.25),
      v(0, 0.25, 0.25),
      v(255, 0.125, 2),
      v(64, 0.125, 2),
    ],
  );
});

test("preprocess gives [3][S][S]; a bad buffer is an ImageError", () => {
  const c = { imageSize: 28, patchSize: 14, mean: [0, 0, 0], std: [1, 1, 1] } as unknown as VisionConfig;
  assert.equal(preprocess(noise(50, 20, 1), c).length, 3 * 28 * 28);
  assert.throws(() => checkRgb({ width: 4, height: 4, data: new Uint8Array(47) }), ImageError);
  assert.throws(() => checkRgb({ width: 0, height: 4, data: new Uint8Array(0) }), ImageError);
});
