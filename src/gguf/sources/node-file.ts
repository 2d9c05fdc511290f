/** ByteSource over a Node FileHandle (Node-only; loaded lazily by byte-source.ts). */
import { open, type FileHandle } from "node:fs/promises";
import { constants, readSync, type Stats } from "node:fs";
import { GGUFError } from "../../errors.js";
import type { ByteSource } from "../byte-source.js";

/** Largest single read; big tensors are read in several. */
const MAX_READ = 1 << 30;

export async function openFileSource(path: string): Promise<ByteSource> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer for ever; it has no
    // effect on the regular files we accept (checked on the open descriptor just below).
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new GGUFError(`cannot open file: ${(e as Error).message}`, { file: path });
  }
  let st: Stats;
  try {
    st = await fh.stat();
  } catch (e) {
    await fh.close();
    throw new GGUFError(`cannot stat file: ${(e as Error).message}`, { file: path });
  }
  if (!st.isFile()) {
    await fh.close();
    throw new GGUFError(`not a regular file (${fileKind(st)})`, { file: path });
  }
  const size = st.size;
  let closed = false;
  const check = (offset: number, length: number) => {
    if (closed) throw new GGUFError("file is closed", { file: path, offset });
    if (offset < 0 || length < 0 || offset + length > size)
      throw new GGUFError("unexpected end of file", { file: path, offset });
  };
  const short = (offset: number) =>
    new GGUFError("unexpected end of file", {
      file: path,
      offset,
      hint: "the file shrank after it was opened",
    });
  return {
    name: path,
    filePath: path,
    size,
    async read(offset, length) {
      check(offset, length);
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const { bytesRead } = await fh.read(out, done, Math.min(MAX_READ, length - done), offset + done);
        if (bytesRead === 0) throw short(offset + done);
        done += bytesRead;
      }
      return out;
    },
    readSync(offset, length) {
      check(offset, length);
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const n = readSync(fh.fd, out, done, Math.min(MAX_READ, length - done), offset + done);
        if (n === 0) throw short(offset + done);
        done += n;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}
