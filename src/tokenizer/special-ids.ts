/**
 * Special ids llama.cpp's vocabulary loader derives from token texts when the GGUF does not name
 * them (end of turn / message, fill-in-the-middle roles), the attribute fix-ups that go with them,
 * and the end-of-generation (EOG) set. The text lists and rules follow the reference build we test
 * against (node-llama-cpp's llama.cpp; src/llama-vocab.cpp in /work/llama.cpp is the same version).
 *
 * When a vocabulary holds several texts of one role's list and the GGUF names no id, the reference
 * takes the first it meets while iterating its std::unordered_map; cxx-map-order.ts reproduces
 * that order (GNU libstdc++, the Linux builds), so the pick, and with it the FIM pad/repo/separator
 * EOG ids and which token is forced to CONTROL, match. Vocabularies beyond that emulation's range
 * (over 2.9M distinct texts) fall back to list order.
 */
import { cxxMapOrder } from "./cxx-map-order.js";
import { Attr } from "./token-attrs.js";

/** Role -> candidate texts, in the reference's list order. */
export const ROLE_TEXTS = {
  eot: [
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
  ],
  eom: ["<|eom_id|>"],
  fimPre: [
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
  ],
  fimSuf: [
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
  ],
  fimMid: [
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
  ],
  fimPad: ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
  fimRep: ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
  fimSep: ["<|file_sep|>"],
} as const;

export type Role = keyof typeof ROLE_TEXTS;

/** GGUF keys naming each role's id (a key, when present and in range, wins over the texts). */
export const ROLE_KEYS: Record<Role, readonly string[]> = {
  eot: ["tokenizer.ggml.eot_token_id"],
  eom: ["tokenizer.ggml.eom_token_id"],
  // The deprecated prefix/suffix/middle keys are read after the fim_* ones and so win.
  fimPre: ["tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"],
  fimSuf: ["tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"],
  fimMid: ["tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"],
  fimPad: ["tokenizer.ggml.fim_pad_token_id"],
  fimRep: ["tokenizer.ggml.fim_rep_token_id"],
  fimSep: ["tokenizer.ggml.fim_sep_token_id"],
};

/** Texts that end generation wherever they occur (each also forced to CONTROL). */
const EOG_TEXTS = new Set([
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<|return|>",
  "<|call|>",
  "<|flush|>",
  "<|calls|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "</s>",
  "<|eom_id|>",
  "<EOT>",
  "_<EOT>",
  "[EOT]",
  "[EOS]",
  "<|end_of_text|>",
  "<end_of_utterance>",
  "<eos>",
  "<turn|>",
  "<|tool_response>",
  "<｜end▁of▁sentence｜>",
  "[e~[",
]);

export type RoleIds = Record<Role, number>;

/**
 * Fill the roles the metadata left at -1 from the token texts, fix up `attrs` (in place) as the
 * reference does, and return the EOG set. `eos` is the final EOS id (or -1).
 */
export function detectSpecialIds(
  tokens: readonly string[],
  textToId: ReadonlyMap<string, number>,
  attrs: Uint16Array,
  given: RoleIds,
  eos: number,
): { roles: RoleIds; eog: Set<number> } {
  const roles = { ...given };
  // Position of each text's node in the reference's map iteration, computed only when needed.
  let mapRank: Int32Array | null | undefined;
  const rankOf = (text: string): number => {
    if (mapRank === undefined) {
      const order = cxxMapOrder(tokens, textToId.size === tokens.length);
      mapRank = order ? new Int32Array(tokens.length).fill(-1) : null;
      if (order && mapRank) for (let pos = 0; pos < order.length; pos++) mapRank[order[pos]] = pos;
    }
    return mapRank ? mapRank[tokens.indexOf(text)] : 0;
  };
  for (const role of Object.keys(ROLE_TEXTS) as Role[]) {
    if (roles[role] >= 0) continue;
    const present = ROLE_TEXTS[role].filter((t) => textToId.has(t));
    if (present.length === 0) continue;
    // Several candidates: the first in map order (list order if the order is unavailable; the
    // sort is stable).
    if (present.length > 1) present.sort((a, b) => rankOf(a) - rankOf(b));
    const id = textToId.get(present[0])!;
    roles[role] = id;
    attrs[id] |= Attr.Control; // a role token is control even if the converter said otherwise
  }

  // Control tokens named "...unused..." are marked UNUSED (as well as CONTROL).
  for (const [t, id] of textToId)
    if (attrs[id] & Attr.Control && t.includes("unused")) attrs[id] |= Attr.Unused;

  const eog = new Set<number>();
  for (const id of [roles.fimPad, roles.fimRep, roles.fimSep]) if (id >= 0) eog.add(id);
  for (const t of EOG_TEXTS) {
    const id = textToId.get(t);
    if (id === undefined) continue;
    eog.add(id);
    attrs[id] |= Attr.Control;
  }
  for (const id of [eos, roles.eot, roles.eom]) if (id >= 0) eog.add(id);

  const eogText = (t: string): number | undefined => {
    for (const id of eog) if (tokens[id] === t) return id;
    return undefined;
  };
  // Harmony-style vocabularies end a message with <|return|> / <|call|> (or <|calls|> + <|flush|>);
  // there <|end|> only closes a message and is not EOG.
  const end = eogText("<|end|>");
  const hasCall = eogText("<|call|>") !== undefined || eogText("<|calls|>") !== undefined;
  if (
    end !== undefined &&
    hasCall &&
    (eogText("<|return|>") !== undefined || eogText("<|flush|>") !== undefined)
  ) {
    eog.delete(end);
    attrs[end] = Attr.UserDefined;
  }
  // With <|tool_response> (Gemma 4 style), </s> is ordinary text.
  const s = eogText("</s>");
  if (s !== undefined && eogText("<|tool_response>") !== undefined) {
    eog.delete(s);
    attrs[s] = Attr.Normal;
  }
  return { roles, eog };
}
