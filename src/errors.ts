/**
 * Typed errors with context. Library code throws these; only the CLI turns them into exit codes
 * and the server into HTTP status codes.
 */

export interface ErrorContext {
  /** File the error concerns, if any. */
  file?: string;
  /** Byte offset in that file. */
  offset?: number;
  /** The field, key or tensor name being read. */
  field?: string;
  /** A short suggestion for the user. */
  hint?: string;
}

export class EdgeLLMError extends Error {
  readonly context: ErrorContext;
  constructor(message: string, context: ErrorContext = {}) {
    super(EdgeLLMError.format(message, context));
    this.name = new.target.name;
    this.context = context;
  }

  private static format(message: string, c: ErrorContext): string {
    const where: string[] = [];
    if (c.file !== undefined) where.push(c.file);
    if (c.offset !== undefined) where.push(`offset ${c.offset}`);
    if (c.field !== undefined) where.push(`field '${c.field}'`);
    let s = where.length > 0 ? `${message} (${where.join(", ")})` : message;
    if (c.hint) s += `\n  hint: ${c.hint}`;
    return s;
  }
}

/** A malformed, truncated, hostile or unsupported GGUF file. */
export class GGUFError extends EdgeLLMError {}

/** The GGUF is well formed but describes a model we cannot run (unknown architecture, missing tensor...). */
export class ModelError extends EdgeLLMError {}

/** Bad tokenizer metadata or an unknown pre-tokenizer. */
export class TokenizerError extends EdgeLLMError {}

/** Invalid user input to the CLI, library or server (bad option, oversize prompt...). */
export class InputError extends EdgeLLMError {}

/** A kernel or WASM module problem (build missing, engine lacks SIMD...). */
export class KernelError extends EdgeLLMError {}

/**
 * A saved session file that cannot be used: malformed, truncated or corrupted (`code` "format"),
 * a format version we do not read ("version"), written for another model ("model") or with other
 * KV cache types or layout ("kv").
 */
export class SessionError extends EdgeLLMError {
  constructor(
    readonly code: "format" | "version" | "model" | "kv",
    message: string,
    context: ErrorContext = {},
  ) {
    super(message, context);
  }
}

/**
 * An mmproj (vision encoder + projector GGUF) whose `clip.projector_type` we do not run: one that
 * llama.cpp knows (`known`: LDP, Qwen2-VL merger, resampler...) but edgellm has not implemented
 * yet, or a name nobody knows.
 */
export class UnsupportedProjectorError extends ModelError {
  constructor(
    readonly projector: string,
    readonly known: boolean,
    message: string,
    context: ErrorContext = {},
  ) {
    super(message, context);
  }
}

/** An image input that cannot be used: undecodable, an unsupported format, or over the limits. */
export class ImageError extends InputError {}

/**
 * A speculative-decoding draft model whose vocabulary differs from the target's (`what`: the
 * model kind, the vocabulary size, a special token, or the text of one token id): its token ids
 * would mean other text, so it cannot draft for that target.
 */
export class VocabMismatchError extends ModelError {
  constructor(
    readonly what: string,
    message: string,
    context: ErrorContext = {},
  ) {
    super(message, context);
  }
}
