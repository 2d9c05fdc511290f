/**
 * Image embeddings by content key, so a repeated image is encoded once (the prefix cache then
 * shares its KV rows too, salted by the same key: engine MediaSpan.key). LRU over a byte budget.
 * Keys come from the caller (the server: SHA-256 of the image file's bytes), plus the projector's
 * identity, so two mmproj files never share entries.
 */
import type { ImageEmbeddings } from "./projector.js";

export class ImageEmbeddingCache {
  private readonly map = new Map<string, ImageEmbeddings>();
  private bytes = 0;
  /** Images run through the encoder, and requests answered from the cache. */
  encoded = 0;
  hits = 0;

  /** maxBytes: most embedding bytes kept (default 256 MiB). */
  constructor(readonly maxBytes = 256 * 1024 * 1024) {}

  /** The embeddings under `key`, computing them with `encode` on a miss. */
  get(key: string, encode: () => ImageEmbeddings): ImageEmbeddings {
    const hit = this.map.get(key);
    if (hit) {
      this.hits++;
      this.map.delete(key); // most recently used last
      this.map.set(key, hit);
      return hit;
    }
    const e = encode();
    this.encoded++;
    const size = e.data.byteLength;
    if (size <= this.maxBytes) {
      this.map.set(key, e);
      this.bytes += size;
      for (const [k, v] of this.map) {
        if (this.bytes <= this.maxBytes) break;
        this.map.delete(k);
        this.bytes -= v.data.byteLength;
      }
    }
    return e;
  }

  get size(): number {
    return this.map.size;
  }
}
