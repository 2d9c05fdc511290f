/**
 * Copy metadata from a parsed GGUF into a writer with the exact original GGUF types (so a float
 * that happens to be integral stays FLOAT32, a UINT64 stays UINT64, arrays keep their item type).
 */
import type { GGUFFile } from "./reader.js";
import type { GGUFWriter } from "./writer.js";
import { typed } from "./value.js";

/** Copies every key of `src` in file order, except those for which `exclude(key)` is true. */
export function copyMetadata(
  src: Pick<GGUFFile, "metadata" | "metadataTypes" | "metadataItemTypes">,
  w: GGUFWriter,
  exclude: (key: string) => boolean = () => false,
): void {
  for (const [key, value] of src.metadata) {
    if (exclude(key)) continue;
    w.set(key, typed(src.metadataTypes.get(key)!, value, src.metadataItemTypes.get(key)));
  }
}
