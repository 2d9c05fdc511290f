/** Split model file names (llama.cpp gguf-split), without the reader: the page bundle needs only this. */

/** llama.cpp's split file names: `<prefix>-00001-of-00003.gguf` (a URL's query and hash kept). */
const SPLIT_NAME = /^(.*)-(\d{5})-of-(\d{5})(\.gguf)((?:[?#].*)?)$/i;

/** Every part's name of a split model, given any part's path or URL; undefined if not a split name. */
export function splitPartNames(name: string): string[] | undefined {
  const m = SPLIT_NAME.exec(name);
  if (!m) return undefined;
  const n = Number(m[3]);
  if (!(n >= 1)) return undefined;
  return Array.from(
    { length: n },
    (_, i) => `${m[1]}-${String(i + 1).padStart(5, "0")}-of-${m[3]}${m[4]}${m[5]}`,
  );
}
