/**
 * Image decoding and its limits: PNG of every colour type round-trips exactly through RGB (alpha
 * dropped, grey replicated, 16-bit high byte, as llama.cpp's loader), JPEG decodes close to what
 * was encoded, and hostile or unsupported inputs are ImageErrors raised before any large buffer
 * exists (a 50,000 x 50,000 header, a zlib bomb, a non-image, WebP/GIF).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { zlibSync } from "fflate";
import { encode as encodeJpeg } from "jpeg-js";
import { decodeImage, readImageSize, sniffImageFormat } from "../../src/vision/decode.js";
import { ImageError } from "../../src/errors.js";

function pattern(width: number, height: number, ch: number, max = 255): number[] {
  const v: number[] = [];
  for (let i = 0; i < width * height * ch; i++) v.push((i * 97 + ((i / ch) | 0) * 13) % (max + 1));
  return v;
}

const isImageError = (re: RegExp) => (e: unknown) => e instanceof ImageError && re.test(e.message);

test("PNG: RGB, RGBA, grey, grey+alpha, 16-bit, 1-bit and palette images decode to the RGB they hold", () => {
  const w = 13;
  const h = 7;
  const rgb = pattern(w, h, 3);
  const got = decodeImage(
    encodePng({ width: w, height: h, data: new Uint8Array(rgb), depth: 8, channels: 3 }),
  );
  assert.deepEqual([got.width, got.height], [w, h]);
  assert.deepEqual([...got.data], rgb);

  const rgba = pattern(w, h, 4);
  const a = decodeImage(
    encodePng({ width: w, height: h, data: new Uint8Array(rgba), depth: 8, channels: 4 }),
  );
  assert.deepEqual(
    [...a.data],
    rgba.filter((_, i) => i % 4 !== 3),
    "alpha dropped",
  );

  const grey = pattern(w, h, 1);
  const g = decodeImage(
    encodePng({ width: w, height: h, data: new Uint8Array(grey), depth: 8, channels: 1 }),
  );
  assert.deepEqual(
    [...g.data],
    grey.flatMap((v) => [v, v, v]),
  );

  const ga = pattern(w, h, 2);
  const gaImg = decodeImage(
    encodePng({ width: w, height: h, data: new Uint8Array(ga), depth: 8, channels: 2 }),
  );
  assert.deepEqual(
    [...gaImg.data],
    ga.filter((_, i) => i % 2 === 0).flatMap((v) => [v, v, v]),
  );

  const deep = pattern(w, h, 3, 65535);
  const d = decodeImage(
    encodePng({ width: w, height: h, data: new Uint16Array(deep), depth: 16, channels: 3 }),
  );
  assert.deepEqual(
    [...d.data],
    deep.map((v) => v >> 8),
    "16-bit: high byte",
  );

  const bits = decodeImage(
    encodePng({ width: 8, height: 1, data: new Uint8Array([0b10110001]), depth: 1, channels: 1 }),
  );
  assert.deepEqual(
    [...bits.data],
    [1, 0, 1, 1, 0, 0, 0, 1].flatMap((b) => [b * 255, b * 255, b * 255]),
  );

  const palette = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [9, 8, 7],
  ];
  const idx = [0, 1, 2, 3, 3, 2, 1, 0];
  const p = decodeImage(
    encodePng({ width: 4, height: 2, data: new Uint8Array(idx), depth: 8, channels: 1, palette }),
  );
  assert.deepEqual(
    [...p.data],
    idx.flatMap((i) => palette[i]!),
  );
});

test("JPEG decodes to the encoded picture within JPEG's loss", () => {
  const w = 40;
  const h = 24;
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) rgba.set([x * 6, y * 10, 128, 255], (y * w + x) * 4);
  const jpg = encodeJpeg({ width: w, height: h, data: rgba }, 95).data;
  assert.equal(sniffImageFormat(jpg), "jpeg");
  assert.deepEqual(readImageSize(jpg, "jpeg"), { width: w, height: h });
  const img = decodeImage(new Uint8Array(jpg));
  assert.deepEqual([img.width, img.height, img.data.length], [w, h, w * h * 3]);
  let worst = 0;
  for (let i = 0; i < w * h; i++)
    for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(img.data[i * 3 + c]! - rgba[i * 4 + c]!));
  assert.ok(worst <= 12, `max level error ${worst}`);
});

/** A PNG whose IHDR states width x height, with `idat` as its (zlib) image data. */
function rawPng(width: number, height: number, idat: Uint8Array, colorType = 2): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const b = new Uint8Array(12 + data.length);
    new DataView(b.buffer).setUint32(0, data.length);
    b.set(
      [...type].map((c) => c.charCodeAt(0)),
      4,
    );
    b.set(data, 8);
    return b; // CRC left zero: the limits are checked before any CRC
  };
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, colorType, 0, 0, 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr)];
  parts.push(chunk("IDAT", idat), chunk("IEND", new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

test("a 50,000 x 50,000 header is refused from the header, before decoding", () => {
  const png = rawPng(50_000, 50_000, zlibSync(new Uint8Array(10)));
  assert.throws(() => decodeImage(png), isImageError(/50000x50000 = 2500000000 pixels, over the/));
  const jpg = new Uint8Array(encodeJpeg({ width: 8, height: 8, data: new Uint8Array(256) }, 50).data);
  // Patch the SOF0 frame header's height and width to 50,000.
  for (let o = 2; o < jpg.length;) {
    if (jpg[o + 1] === 0xc0) {
      jpg.set([0xc3, 0x50, 0xc3, 0x50], o + 5);
      break;
    }
    o += 2 + ((jpg[o + 2]! << 8) | jpg[o + 3]!);
  }
  assert.throws(() => decodeImage(jpg), isImageError(/50000x50000/));
  assert.throws(
    () => decodeImage(new Uint8Array(100), { maxBytes: 99 }),
    isImageError(/over the 99-byte limit/),
  );
});

test("a zlib bomb stops once the data outgrows what the header states", () => {
  const bomb = rawPng(10, 10, zlibSync(new Uint8Array(16 << 20)));
  assert.ok(bomb.length < 100_000, `bomb is ${bomb.length} bytes`);
  assert.throws(() => decodeImage(bomb), isImageError(/inflates past the 10x10/));
});

test("corrupt, truncated, non-image and unsupported inputs are ImageErrors", () => {
  const good = encodePng({
    width: 16,
    height: 16,
    data: new Uint8Array(pattern(16, 16, 3)),
    depth: 8,
    channels: 3,
  });
  const flipped = good.slice();
  flipped[flipped.length - 20]! ^= 0xff; // inside IDAT: CRC and/or inflate fail
  assert.throws(() => decodeImage(flipped), isImageError(/corrupt PNG/));
  assert.throws(() => decodeImage(good.subarray(0, good.length - 30)), isImageError(/corrupt PNG/));
  assert.throws(() => decodeImage(good.subarray(0, 20)), isImageError(/corrupt PNG/));
  assert.throws(() => decodeImage(new TextEncoder().encode("hello, world")), isImageError(/not an image/));
  const webp = new Uint8Array([
    ...new TextEncoder().encode("RIFF"),
    0,
    0,
    0,
    0,
    ...new TextEncoder().encode("WEBPVP8 "),
  ]);
  assert.throws(() => decodeImage(webp), isImageError(/unsupported image format 'webp'/));
  assert.throws(() => decodeImage(new TextEncoder().encode("GIF89a......")), isImageError(/'gif'/));
  const jpgHead = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xda, 0, 2]);
  assert.throws(() => decodeImage(jpgHead), isImageError(/no frame header/));
});
