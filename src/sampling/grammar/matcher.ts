/**
 * GrammarMatcher: one generation's position in a grammar, usable as a logits processor in the
 * sampler chain. Per step: maskLogits() sets disallowed logits to -Infinity (apply() removes
 * disallowed candidates), the sampler
 * picks a token, accept(token) advances the state. isComplete() says the output so far is a full
 * sentence (end-of-generation is allowed); isDone() that nothing but end-of-generation can follow
 * or end-of-generation was accepted.
 */
import { InputError } from "../../errors.js";
import type { Candidates } from "../candidates.js";
import type { LogitsProcessor } from "../processors.js";
import type { GrammarState } from "./automaton.js";
import type { TokenGrammar } from "./token-grammar.js";

export class GrammarMatcher implements LogitsProcessor {
  readonly name = "grammar";
  private state: GrammarState;
  private ended = false;
  /** Accepted tokens, for rollback. */
  private readonly history: GrammarState[] = [];

  constructor(readonly tg: TokenGrammar) {
    this.state = tg.automaton.initial;
  }

  /** Bitset over the vocabulary (bit set = allowed); empty after end-of-generation. */
  allowedTokens(): Uint32Array {
    if (this.ended) return new Uint32Array((this.tg.nVocab + 31) >>> 5);
    return this.tg.mask(this.state);
  }

  isAllowed(id: number): boolean {
    return !this.ended && this.tg.allows(this.state, id);
  }

  /** Set logits of disallowed tokens to -Infinity (logits indexed by token id). */
  maskLogits(logits: Float32Array): void {
    const m = this.allowedTokens();
    const n = Math.min(logits.length, this.tg.nVocab);
    for (let id = 0; id < n; id++) if ((m[id >>> 5] & (1 << (id & 31))) === 0) logits[id] = -Infinity;
    for (let id = n; id < logits.length; id++) logits[id] = -Infinity;
  }

  /**
   * Sampler-chain form: drop disallowed candidates (same effect as -Infinity logits, but later
   * processors such as top-k never see or keep them).
   */
  apply(c: Candidates): void {
    const m = this.allowedTokens();
    const nv = this.tg.nVocab;
    const ids = c.ids;
    const lg = c.logits;
    const size = c.size;
    let w = 0;
    if (!c.sorted && size === ids.length && size >= nv && ids[0] === 0 && ids[size - 1] === size - 1) {
      // Fresh candidates in id order (Candidates.fromLogits; the grammar runs first in the chain):
      // walk the mask word by word, skipping empty words, and compact in place (w <= id, so
      // lg[id] is still unwritten when read).
      for (let k = 0; k < m.length; k++) {
        let bits = m[k];
        if (bits === -1 >>> 0 || bits === -1) {
          // All 32 allowed (common inside strings).
          for (let id = k << 5, e = id + 32; id < e; id++, w++) {
            ids[w] = id;
            lg[w] = lg[id];
          }
          continue;
        }
        while (bits !== 0) {
          const id = (k << 5) + 31 - Math.clz32(bits & -bits);
          ids[w] = id;
          lg[w] = lg[id];
          w++;
          bits &= bits - 1;
        }
      }
    } else {
      for (let i = 0; i < size; i++) {
        const id = ids[i];
        if (id < nv && ((m[id >>> 5] >>> (id & 31)) & 1) !== 0) {
          ids[w] = id;
          lg[w] = lg[i];
          w++;
        }
      }
    }
    c.size = w;
  }

  /** Advance by a sampled token; a token the grammar does not allow is an InputError. */
  accept(id: number): void {
    if (this.ended) throw new InputError(`grammar: token ${id} after end of generation`);
    if (this.tg.isEog(id)) {
      if (!this.state.accepting) {
        throw new InputError(`grammar: end-of-generation token ${id} before the output is complete`);
      }
      this.history.push(this.state);
      this.ended = true;
      return;
    }
    const next = this.tg.next(this.state, id);
    if (next === null) throw new InputError(`grammar: token ${id} is not allowed here`);
    this.history.push(this.state);
    this.state = next;
  }

  /** Feed text the model did not sample (e.g. a forced prefix); throws if it does not fit. */
  acceptBytes(bytes: Uint8Array): void {
    const next = this.tg.automaton.advanceBytes(this.state, bytes);
    if (next === null) throw new InputError("grammar: text does not fit the grammar here");
    this.history.push(this.state);
    this.state = next;
  }

  /** Undo the last n accepts. */
  rollback(n = 1): void {
    if (n > this.history.length) throw new InputError(`grammar: cannot roll back ${n} tokens`);
    for (let i = 0; i < n; i++) {
      if (this.ended) this.ended = false;
      this.state = this.history.pop()!;
    }
  }

  isComplete(): boolean {
    return this.ended || this.state.accepting;
  }

  /** True when only end-of-generation can follow (or it was accepted). */
  isDone(): boolean {
    return this.ended || (this.state.accepting && this.state.leaves.length === 1);
  }

  reset(): void {
    this.state = this.tg.automaton.initial;
    this.ended = false;
    this.history.length = 0;
  }
}
