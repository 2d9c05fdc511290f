/**
 * Constrained decoding: grammars (GBNF or compiled from JSON Schema) bound to a vocabulary, and
 * the matcher that masks logits in the sampler chain.
 */
import { InputError } from "../../errors.js";
import { parseGBNF } from "./gbnf.js";
import { jsonObjectGBNF } from "./json-gbnf.js";
import { jsonSchemaToGBNF } from "./json-schema.js";
import { GrammarMatcher } from "./matcher.js";
import { TokenGrammar, VocabIndex, type TokenVocab } from "./token-grammar.js";

export { parseGBNF } from "./gbnf.js";
export { jsonSchemaToGBNF } from "./json-schema.js";
export { jsonObjectGBNF, gbnfLiteral, JSON_PRIMITIVES } from "./json-gbnf.js";
export { GrammarMatcher } from "./matcher.js";
export { TokenGrammar, VocabIndex, type TokenVocab } from "./token-grammar.js";
export { Automaton, type GrammarState } from "./automaton.js";
export type { Grammar } from "./grammar.js";

/**
 * What a decode loop needs from a constraint (GrammarMatcher, LazyGrammarMatcher): run apply()
 * first in the sampler chain (or maskLogits on raw logits), accept() the sampled token, stop
 * when isDone(). isAllowed() is the cheap check for trying the unconstrained pick first.
 */
export interface TokenConstraint {
  apply(c: import("../candidates.js").Candidates): void;
  maskLogits(logits: Float32Array): void;
  isAllowed(id: number): boolean;
  accept(id: number): void;
  isComplete(): boolean;
  isDone(): boolean;
}

/** Bind GBNF text to a vocabulary. */
export function compileGrammar(gbnf: string, vocab: TokenVocab | VocabIndex): TokenGrammar {
  const index = vocab instanceof VocabIndex ? vocab : VocabIndex.of(vocab);
  return new TokenGrammar(parseGBNF(gbnf), index);
}

/** OpenAI `response_format`. */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name?: string; schema?: unknown; strict?: boolean | null } };

/** GBNF for an OpenAI response_format, or undefined for plain text. */
export function gbnfForResponseFormat(rf: ResponseFormat): string | undefined {
  if (typeof rf !== "object" || rf === null) throw new InputError("response_format must be an object");
  switch (rf.type) {
    case "text":
      return undefined;
    case "json_object":
      return jsonObjectGBNF();
    case "json_schema": {
      const js = rf.json_schema;
      if (typeof js !== "object" || js === null)
        throw new InputError("response_format.json_schema must be an object", {
          field: "response_format.json_schema",
        });
      return jsonSchemaToGBNF(js.schema ?? true);
    }
    default:
      throw new InputError(`unknown response_format type '${String((rf as { type: unknown }).type)}'`, {
        field: "response_format.type",
        hint: "one of: text, json_object, json_schema",
      });
  }
}

/** A fresh matcher for an OpenAI response_format, or undefined for plain text. */
export function grammarForResponseFormat(rf: ResponseFormat, vocab: TokenVocab): GrammarMatcher | undefined {
  const g = gbnfForResponseFormat(rf);
  return g === undefined ? undefined : new GrammarMatcher(compileGrammar(g, vocab));
}
export { LazyGrammarMatcher, type LazyOptions } from "./lazy.js";
export { SchemaCompiler } from "./json-schema.js";
export { primitivesFor } from "./json-gbnf.js";
