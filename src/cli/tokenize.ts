/**
 * `edgellm tokenize -m <file.gguf> "<text>" [--special] [--json]`: print the token ids and pieces
 * the model's tokenizer produces (metadata only; tensors are not read).
 */
import type { Command } from "commander";
import { resolveModel } from "./default-model.js";
import { InputError } from "../errors.js";
import { openGGUF } from "../gguf/reader.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";

interface TokenizeOpts {
  model: string;
  special?: boolean;
  json?: boolean;
  bos?: boolean;
}

export async function tokenizeCommand(
  text: string,
  opts: TokenizeOpts,
  write: (s: string) => void = (s) => process.stdout.write(s),
): Promise<void> {
  if (!opts.model) throw new InputError("missing -m <file.gguf>");
  const f = await openGGUF(await resolveModel(opts.model));
  let tok: Tokenizer;
  try {
    tok = Tokenizer.fromMetadata(f.metadata);
  } finally {
    await f.close();
  }
  const ids = tok.encode(text, { parseSpecial: opts.special ?? false, addSpecial: opts.bos ?? false });
  if (opts.json) {
    write(JSON.stringify({ ids, pieces: ids.map((id) => tok.tokenText(id, true)) }) + "\n");
    return;
  }
  for (const id of ids) write(`${String(id).padStart(7)} -> ${JSON.stringify(tok.tokenText(id, true))}\n`);
  write(`${ids.length} tokens\n`);
}

export function register(program: Command): void {
  program
    .command("tokenize")
    .description("tokenize text with a GGUF model's tokenizer and print ids and pieces")
    .requiredOption("-m, --model <file.gguf>", "GGUF model (only its tokenizer metadata is read)")
    .option("--special", "match special-token text such as <|im_start|> in the input")
    .option("--bos", "add BOS/EOS as the model's tokenizer asks")
    .option("--json", "print {ids, pieces} as JSON")
    .argument("<text>", "text to tokenize")
    .action(async (text: string, opts: TokenizeOpts) => {
      await tokenizeCommand(text, opts);
    });
}
