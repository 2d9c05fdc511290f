/** Copy metadata from a parsed GGUF into a writer, keeping every value's original GGUF type. */
import type { GGUFFile } from "./reader.js";
import { GGUFValueType, typed } from "./value.js";
import type { GGUFWriter } from "./writer.js";

export function copyMetadata(src: GGUFFile, dst: GGUFWriter, skip: (key: string) => boolean = () => false): void {
  for (const [key, value] of src.metadata) {
    if (skip(key)) continue;
    const type = src.metadataTypes.get(key);
    if (type === undefined || type === GGUFValueType.ARRAY) {
      // Arrays describe their own item type (typed arrays, or plain arrays tagged by the reader).
      dst.set(key, value);
    } else {
      dst.set(key, typed(type, value));
    }
  }
}
