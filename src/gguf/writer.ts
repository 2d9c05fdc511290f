/**
 * GGUF v3 writer. Metadata is encoded into one small header buffer; tensor data is streamed to
 * disk tensor by tensor (a tensor's bytes may come from a callback, so a multi-GB model never has
 * to sit in memory at once). Layout and padding follow gguf.cpp `gguf_write_out`: header, kv,
 * tensor infos, zero padding to the alignment, then each tensor followed by padding to the alignment.
 */
import { nodeImport } from "../platform/node-import.js";
import { GGUFError } from "../errors.js";
import { type GGMLType, ggmlTypeName, ggmlTypeTraits, isKnownGGMLType } from "./types.js";
import { ByteSink, encodeValue, resolveValue, type ResolvedValue } from "./encode.js";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME, alignUp } from "./parse.js";
import { type GGUFTypedValue, GGUFValueType, type GGUFMetaValue } from "./value.js";

/**
 * Tensor bytes, or a callback producing them when the tensor is written (called once per write).
 * `write()` also accepts callbacks returning a promise (e.g. quantization on worker threads) and
 * asks for the next tensor while the current one is written; `toBytes()` needs synchronous data.
 */
export type TensorData = Uint8Array | (() => Uint8Array | Promise<Uint8Array>);

interface PendingTensor {
  name: string;
  type: GGMLType;
  dims: number[];
  nBytes: number;
  data: TensorData;
}

const WRITE_CHUNK = 1 << 30;
const utf8 = new TextEncoder();

export class GGUFWriter {
  private readonly kv = new Map<string, ResolvedValue>();
  private readonly tensors: PendingTensor[] = [];
  private readonly tensorNames = new Set<string>();

  /** Add a metadata key; type inferred (see encode.ts) unless given with `typed(...)`. */
  set(key: string, value: GGUFMetaValue | GGUFTypedValue): this {
    if (key.length === 0) throw new GGUFError("metadata key is empty", { field: key });
    if (this.kv.has(key)) throw new GGUFError(`duplicate metadata key '${key}'`, { field: key });
    const r = resolveValue(key, value);
    // Encode once now so a bad value fails at set(), not at write().
    encodeValue(new ByteSink(), key, r.type, r.value, r.itemType);
    if (key === "general.alignment") checkAlignment(r);
    this.kv.set(key, r);
    return this;
  }

  has(key: string): boolean {
    return this.kv.has(key);
  }

  get alignment(): number {
    const a = this.kv.get("general.alignment");
    return a ? (a.value as number) : GGUF_DEFAULT_ALIGNMENT;
  }

  /** `dims` are ggml order (ne[0] = row length first). `data` must hold exactly the tensor's bytes. */
  addTensor(name: string, type: GGMLType, dims: number[], data: TensorData): this {
    const f = `tensor '${name}'`;
    if (name.length === 0 || utf8.encode(name).length >= GGUF_MAX_TENSOR_NAME) {
      throw new GGUFError(`tensor name must be 1..${GGUF_MAX_TENSOR_NAME - 1} bytes`, { field: f });
    }
    if (this.tensorNames.has(name)) throw new GGUFError(`duplicate tensor name '${name}'`, { field: f });
    if (!isKnownGGMLType(type)) throw new GGUFError(`unknown ggml type ${type}`, { field: f });
    if (dims.length > GGUF_MAX_DIMS)
      throw new GGUFError(`${dims.length} dims > ${GGUF_MAX_DIMS}`, { field: f });
    let n = 1;
    for (const d of dims) {
      if (!Number.isSafeInteger(d) || d < 0) throw new GGUFError(`bad dimension ${d}`, { field: f });
      n *= d;
    }
    if (!Number.isSafeInteger(n)) throw new GGUFError(`element count overflows 2^53`, { field: f });
    const tr = ggmlTypeTraits(type);
    const ne0 = dims[0] ?? 1;
    if (ne0 % tr.blockSize !== 0) {
      throw new GGUFError(
        `row length ${ne0} is not a multiple of the ${ggmlTypeName(type)} block size ${tr.blockSize}`,
        {
          field: f,
        },
      );
    }
    const nBytes = (n / tr.blockSize) * tr.typeSize;
    if (data instanceof Uint8Array && data.length !== nBytes) {
      throw new GGUFError(`data is ${data.length} bytes, expected ${nBytes}`, { field: f });
    }
    this.tensorNames.add(name);
    this.tensors.push({ name, type, dims: [...dims], nBytes, data });
    return this;
  }

  /** Everything before the data section, padded to the alignment; plus each tensor's data offset. */
  private header(): { bytes: Uint8Array; offsets: number[] } {
    const align = this.alignment;
    const s = new ByteSink();
    s.u32(GGUF_MAGIC);
    s.u32(3);
    s.u64(BigInt(this.tensors.length));
    s.u64(BigInt(this.kv.size));
    for (const [key, r] of this.kv) {
      s.string(key);
      s.u32(r.type);
      encodeValue(s, key, r.type, r.value, r.itemType);
    }
    const offsets: number[] = [];
    let off = 0;
    for (const t of this.tensors) {
      s.string(t.name);
      s.u32(t.dims.length);
      for (const d of t.dims) s.u64(BigInt(d));
      s.u32(t.type);
      s.u64(BigInt(off));
      offsets.push(off);
      off += alignUp(t.nBytes, align);
    }
    s.zeros(alignUp(s.length, align) - s.length);
    return { bytes: s.result(), offsets };
  }

  private tensorBytes(t: PendingTensor): Uint8Array {
    const d = typeof t.data === "function" ? t.data() : t.data;
    if (d instanceof Promise) {
      throw new GGUFError("asynchronous tensor data needs write(), not toBytes()", {
        field: `tensor '${t.name}'`,
      });
    }
    return this.checkBytes(t, d);
  }

  private checkBytes(t: PendingTensor, d: Uint8Array): Uint8Array {
    if (!(d instanceof Uint8Array) || d.length !== t.nBytes) {
      throw new GGUFError(`data callback returned ${d?.length} bytes, expected ${t.nBytes}`, {
        field: `tensor '${t.name}'`,
      });
    }
    return d;
  }

  /** The whole file in memory (for small files: tests, fuzzing, browsers). */
  toBytes(): Uint8Array {
    const { bytes, offsets } = this.header();
    const align = this.alignment;
    const last = this.tensors.length;
    const total =
      bytes.length + (last ? offsets[last - 1]! + alignUp(this.tensors[last - 1]!.nBytes, align) : 0);
    const out = new Uint8Array(total);
    out.set(bytes);
    this.tensors.forEach((t, i) => out.set(this.tensorBytes(t), bytes.length + offsets[i]!));
    return out;
  }

  /** Stream the file to disk: header, then each tensor (+ padding) in turn. */
  async write(path: string): Promise<void> {
    const { bytes } = this.header();
    const align = this.alignment;
    const { open } = await nodeImport<typeof import("node:fs/promises")>(
      "node:fs/promises",
      "GGUFWriter.write",
    );
    const fh = await open(path, "w");
    try {
      let pos = 0;
      const put = async (b: Uint8Array) => {
        for (let done = 0; done < b.length;) {
          const len = Math.min(WRITE_CHUNK, b.length - done);
          const { bytesWritten } = await fh.write(b, done, len, pos);
          done += bytesWritten;
          pos += bytesWritten;
        }
      };
      await put(bytes);
      const produce = (t: PendingTensor) => (typeof t.data === "function" ? t.data() : t.data);
      let next: Uint8Array | Promise<Uint8Array> | undefined = this.tensors.length
        ? produce(this.tensors[0]!)
        : undefined;
      for (let i = 0; i < this.tensors.length; i++) {
        const t = this.tensors[i]!;
        const data = this.checkBytes(t, await next!);
        // Start on the next tensor (workers may compute it) while this one goes to disk.
        next = i + 1 < this.tensors.length ? produce(this.tensors[i + 1]!) : undefined;
        // Its failure is reported by the `await next` above on the next turn, not as unhandled.
        if (next instanceof Promise) next.catch(() => undefined);
        await put(data);
        const pad = alignUp(t.nBytes, align) - t.nBytes;
        if (pad > 0) await put(new Uint8Array(pad));
      }
    } finally {
      await fh.close();
    }
  }
}

function checkAlignment(r: ResolvedValue): void {
  const a = r.value;
  if (r.type !== GGUFValueType.UINT32 || typeof a !== "number" || a === 0 || (a & (a - 1)) !== 0) {
    throw new GGUFError("general.alignment must be a UINT32 power of two", { field: "general.alignment" });
  }
}
