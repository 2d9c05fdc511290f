/**
 * Decoded images as the vision path takes them: 8-bit RGB, row-major, interleaved
 * (data[(y * width + x) * 3 + c]), the layout of llama.cpp's clip_image_u8.
 */
import { ImageError } from "../errors.js";

export interface RgbImage {
  width: number;
  height: number;
  /** [height][width][3] */
  data: Uint8Array;
}

/** Checks the buffer matches the stated size (a decoder bug or a hostile caller). */
export function checkRgb(img: RgbImage): RgbImage {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError(`image size ${width}x${height} is not positive`);
  }
  if (data.length !== width * height * 3) {
    throw new ImageError(
      `image buffer holds ${data.length} bytes, ${width}x${height} RGB needs ${width * height * 3}`,
    );
  }
  return img;
}
