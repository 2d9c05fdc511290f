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
import { bytesToLatin1, latin1ToBytes, utf8Latin1 } from "./latin1.js";

export interface LazyOptions {
  /** Trigger only when the output, less leading whitespace, starts with a trigger. */
  atStart?: boolean;
  /**
   * A reasoning block whose text never triggers (a model thinking "I could use <tool_call>..."
   * is not calling): output that opens with `open` (after whitespace), or all output when
   * `startInside` (the prompt opened the block), is skipped up to the first `close`.
   */
  skipBlock?: { open: string; close: string; startInside?: boolean };
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
    this.triggers = triggers.map((t) => utf8Latin1(t));
    const b = opts.skipBlock;
    if (b) this.block = { open: latin1(b.open), close: latin1(b.close), startInside: b.startInside === true };
  }

  private readonly block: { open: string; close: string; startInside: boolean } | undefined;

  /** Where triggers may start in the output so far, or -1 while inside (or maybe opening) the block. */
  private searchFrom(): number {
    const b = this.block;
    if (!b) return 0;
    const t = this.text;
    const lead = t.length - t.trimStart().length;
    let inside = b.startInside;
    if (!inside) {
      const rest = t.slice(lead);
      if (rest.length < b.open.length && b.open.startsWith(rest)) return -1; // may still open it
      inside = rest.startsWith(b.open);
    }
    if (!inside) return 0;
    const e = t.indexOf(b.close);
    return e < 0 ? -1 : e + b.close.length;
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
    this.text += bytesToLatin1(p);
    const from = this.searchFrom();
    if (from < 0) return;
    let at = -1;
    if (this.opts.atStart) {
      const tail = this.text.slice(from);
      const lead = from + tail.length - tail.trimStart().length;
      const rest = this.text.slice(lead);
      if (this.triggers.some((t) => rest.startsWith(t))) at = lead;
    } else {
      for (const t of this.triggers) {
        const k = this.text.indexOf(t, from);
        if (k >= 0 && (at < 0 || k < at)) at = k;
      }
    }
    if (at < 0) return;
    const m = new GrammarMatcher(this.tg);
    m.acceptBytes(latin1ToBytes(this.text.slice(at)));
    this.inner = m;
  }

  isComplete(): boolean {
    return this.inner ? this.inner.isComplete() : true;
  }

  isDone(): boolean {
    return this.inner ? this.inner.isDone() : false;
  }
}

function latin1(s: string): string {
  return utf8Latin1(s);
}
