/**
 * Streaming detokenizer for generation: feed token ids one at a time, get back only complete
 * UTF-8 characters. A token that ends inside a multi-byte character (byte-fallback tokens, or
 * byte-level BPE pieces that split an emoji) is held until the character completes, so a stream
 * never shows half a character or a spurious U+FFFD. Like the reference's streaming output, each
 * token contributes its raw piece (no batch clean-up pass).
 */
import type { Tokenizer } from "./tokenizer.js";

export interface StreamOptions {
  /** Render control tokens as text (default false: they contribute nothing). */
  special?: boolean;
  /** Drop one leading space from the first piece (SentencePiece space prefix). Default: the vocabulary's add_space_prefix. */
  stripLeadingSpace?: boolean;
}

export class StreamDecoder {
  // stream: true keeps an incomplete trailing sequence buffered between calls.
  private readonly decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  private first = true;
  private readonly special: boolean;
  private readonly strip: boolean;

  constructor(
    private readonly tok: Tokenizer,
    opts: StreamOptions = {},
  ) {
    this.special = opts.special ?? false;
    this.strip = opts.stripLeadingSpace ?? tok.addSpacePrefix;
  }

  /** Add one token; returns the newly complete text (possibly ""). */
  push(id: number): string {
    let b = this.tok.tokenBytes(id, this.special);
    if (this.first && b.length > 0) {
      if (this.strip && b[0] === 0x20) b = b.subarray(1);
      this.first = false;
    }
    return this.decoder.decode(b, { stream: true });
  }

  /** End of stream: returns whatever is still buffered (an incomplete character becomes U+FFFD). */
  flush(): string {
    return this.decoder.decode();
  }
}
