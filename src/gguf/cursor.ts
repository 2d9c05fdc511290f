import { GGUFError } from "../errors.js";

/**
 * Thrown (not an Error) when the parser reaches past the bytes loaded so far but still inside the
 * file: the file reader loads a larger prefix and parses again. Never escapes reader.ts.
 */
export class NeedMoreBytes {
  constructor(readonly needed: number) {}
}

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Little-endian reader over a prefix `buf` of a file of `fileSize` bytes (buf[i] = file byte i).
 * Every read first checks the FILE bounds (so a length field can never make us allocate more than
 * the file holds), then the loaded prefix (NeedMoreBytes).
 */
export class Cursor {
  pos = 0;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    readonly fileSize: number,
    readonly file: string | undefined,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.fileSize - this.pos;
  }

  fail(message: string, field?: string, offset = this.pos, hint?: string): never {
    throw new GGUFError(message, { file: this.file, offset, field, hint });
  }

  /**
   * Ensure n bytes at pos exist in the file and are loaded. `index` >= 0 names an array item
   * (field[index]); the name is only built on failure, keeping big string arrays fast.
   */
  need(n: number, field: string, index = -1): void {
    if (n > this.fileSize - this.pos) {
      const f = index >= 0 ? `${field}[${index}]` : field;
      this.fail(`truncated file: need ${n} bytes, ${this.fileSize - this.pos} left`, f);
    }
    if (this.pos + n > this.buf.length) throw new NeedMoreBytes(this.pos + n);
  }

  /**
   * Check that `count` items of at least `minItemBytes` each can fit in what is left of the file,
   * before anything is allocated for them. `count` is the raw u64 from the file.
   */
  checkCount(count: bigint, minItemBytes: number, field: string, offset: number): number {
    if (count * BigInt(minItemBytes) > BigInt(this.fileSize - this.pos)) {
      this.fail(
        `count ${count} of items of >= ${minItemBytes} bytes exceeds the ${this.fileSize - this.pos} bytes left in the file`,
        field,
        offset,
      );
    }
    return Number(count);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.pos++);
  }
  i8(field: string): number {
    this.need(1, field);
    return this.view.getInt8(this.pos++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  i16(field: string): number {
    this.need(2, field);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(field: string): number {
    this.need(4, field);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f32(field: string): number {
    this.need(4, field);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  f64(field: string): number {
    this.need(8, field);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Copy of the next n loaded bytes (copied so typed-array views are aligned and own their memory). */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    // Not buf.slice(): on a Node Buffer that is a view into a shared pool, not a copy.
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /**
   * GGUF string: u64 byte length + UTF-8 bytes, no terminator. Invalid UTF-8 decodes with U+FFFD
   * replacement (llama.cpp keeps raw bytes; converters only ever write valid UTF-8, so this loses
   * nothing in practice and keeps every key and token a well-formed JS string).
   */
  string(field: string, index = -1): string {
    const at = this.pos;
    this.need(8, field, index);
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    this.pos += 8;
    const left = this.fileSize - this.pos;
    if (hi !== 0 || lo > left) {
      const len = (BigInt(hi) << 32n) | BigInt(lo);
      const f = index >= 0 ? `${field}[${index}]` : field;
      this.fail(`string length ${len} exceeds the ${left} bytes left in the file`, f, at);
    }
    this.need(lo, field, index);
    const start = this.pos;
    this.pos += lo;
    return decodeUtf8(this.buf, start, lo);
  }
}

/**
 * Short strings (keys, vocab pieces) are decoded by hand when they are well-formed UTF-8, avoiding
 * TextDecoder's per-call overhead; anything malformed or long goes to TextDecoder, so the result
 * (including U+FFFD replacement) is always exactly TextDecoder's.
 */
function decodeUtf8(buf: Uint8Array, start: number, n: number): string {
  if (n > 64) return decoder.decode(buf.subarray(start, start + n));
  const end = start + n;
  let k = 0; // UTF-16 code units written to `units`
  for (let i = start; i < end;) {
    const b0 = buf[i]!;
    if (b0 < 0x80) {
      units[k++] = b0;
      i++;
      continue;
    }
    let cp: number;
    let len: number;
    let min: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      cp = b0 & 0x1f;
      len = 2;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      cp = b0 & 0x0f;
      len = 3;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      cp = b0 & 0x07;
      len = 4;
      min = 0x10000;
    } else {
      return decoder.decode(buf.subarray(start, end));
    }
    if (i + len > end) return decoder.decode(buf.subarray(start, end));
    for (let j = 1; j < len; j++) {
      const b = buf[i + j]!;
      if ((b & 0xc0) !== 0x80) return decoder.decode(buf.subarray(start, end));
      cp = (cp << 6) | (b & 0x3f);
    }
    // Overlong forms, surrogates and > U+10FFFF are malformed: let TextDecoder replace them.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return decoder.decode(buf.subarray(start, end));
    if (cp >= 0x10000) {
      units[k++] = 0xd800 + ((cp - 0x10000) >> 10);
      units[k++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
    } else {
      units[k++] = cp;
    }
    i += len;
  }
  return String.fromCharCode.apply(null, units.subarray(0, k) as unknown as number[]);
}

/** Scratch for decodeUtf8: at most 64 UTF-16 units come from 64 bytes. */
const units = new Uint16Array(64);
