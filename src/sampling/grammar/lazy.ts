/**
 * A grammar that switches on when a trigger appears in the output (tool_choice "auto": free text
 * until the model starts a tool call, then the call is constrained). Before the trigger no token
 * is masked; when an accepted token completes a trigger, the grammar starts at the trigger's
 * first byte and is fed the bytes from there on (the trigger is part of the grammar's language).
 */
import { InputError } from "../../errors.js";
import type { Candidates } from "../candidates.js";
import type { LogitsProcessor } from "../processors.js";
import { GrammarMatcher } from "./matcher.js";
import type { TokenGrammar } from "./token-grammar.js";

export interface LazyOptions {
  /** Trigger only when the output, less leading whitespace, starts with a trigger. */
  atStart?: boolean;
}

export class LazyGrammarMatcher implements LogitsProcessor {
  readonly name = "grammar";
  private text = ""; // output so far, as latin1 (one char per byte)
  private inner: GrammarMatcher | undefined;
  private readonly triggers: string[];

  constructor(
    readonly tg: TokenGrammar,
    triggers: string[],
    private readonly opts: LazyOptions = {},
  ) {
    if (triggers.length === 0) throw new InputError("lazy grammar needs at least one trigger");
    this.triggers = triggers.map((t) => Buffer.from(t, "utf8").toString("latin1"));
  }

  get active(): boolean {
    return this.inner !== undefined;
  }

  apply(c: Candidates): void {
    this.inner?.apply(c);
  }

  maskLogits(logits: Float32Array): void {
    this.inner?.maskLogits(logits);
  }

  isAllowed(id: number): boolean {
    return this.inner ? this.inner.isAllowed(id) : true;
  }

  accept(id: number): void {
    if (this.inner) return this.inner.accept(id);
    if (this.tg.isEog(id)) return;
    const p = this.tg.vocab.pieces[id];
    if (!p) throw new InputError(`token id ${id} out of range`);
    this.text += Buffer.from(p).toString("latin1");
    let at = -1;
    if (this.opts.atStart) {
      const lead = this.text.length - this.text.trimStart().length;
      const rest = this.text.slice(lead);
      if (this.triggers.some((t) => rest.startsWith(t))) at = lead;
    } else {
      for (const t of this.triggers) {
        const k = this.text.indexOf(t);
        if (k >= 0 && (at < 0 || k < at)) at = k;
      }
    }
    if (at < 0) return;
    const m = new GrammarMatcher(this.tg);
    m.acceptBytes(new Uint8Array(Buffer.from(this.text.slice(at), "latin1")));
    this.inner = m;
  }

  isComplete(): boolean {
    return this.inner ? this.inner.isComplete() : true;
  }

  isDone(): boolean {
    return this.inner ? this.inner.isDone() : false;
  }
}
