/**
 * Per-sequence state of recurrent layers (short convolutions now; the delta-rule state of linear
 * attention later), kept beside the KV cache of the same sequence and freed with it.
 *
 * Unlike K/V rows, a recurrent state summarises every token so far in a fixed size: memory is
 * constant in the context length, but the state cannot be rolled back to an earlier position or
 * shared by prefix. The rules that follow, enforced by the caches that own a store:
 *  - truncate(0) resets the state; truncate to any other shorter length is refused (no snapshots);
 *  - a sequence with recurrent layers adopts no shared prefix blocks (adoptPrefix returns 0), so
 *    its prompt is always computed from position 0 and the state sees every token.
 */
import { InputError } from "../errors.js";

export interface RecurrentShape {
  /** Per layer: true when the layer is recurrent (has a state here). */
  layers: readonly boolean[];
  /** Short convolution: the last `convRows` inputs (kernel width - 1) of `channels` floats each. */
  convRows: number;
  channels: number;
  /** Floats of a linear-attention (delta-rule) state per layer; 0 for short convolutions. */
  ssmSize?: number;
}

/** One recurrent layer's state for one sequence. */
export interface RecurrentState {
  readonly layer: number;
  /** Conv window [convRows][channels], oldest row first; zeros before the first token. */
  readonly conv: Float32Array;
  /** Delta-rule state per value head, [nVHeads][headV][headK]; empty without one. */
  readonly ssm: Float32Array;
}

export class RecurrentStore {
  private readonly states: (RecurrentState | undefined)[];

  constructor(readonly shape: Readonly<RecurrentShape>) {
    if (!(Number.isInteger(shape.convRows) && shape.convRows >= 1 && shape.channels > 0))
      throw new InputError(`invalid recurrent state shape: ${shape.convRows} x ${shape.channels}`);
    this.states = shape.layers.map((r, layer) =>
      r
        ? {
            layer,
            conv: new Float32Array(shape.convRows * shape.channels),
            ssm: new Float32Array(shape.ssmSize ?? 0),
          }
        : undefined,
    );
  }

  state(layer: number): RecurrentState | undefined {
    return this.states[layer];
  }

  /** Back to the empty sequence's state (zeros). */
  reset(): void {
    for (const s of this.states) {
      s?.conv.fill(0);
      s?.ssm.fill(0);
    }
  }

  /** Bytes held for one sequence, whatever its length. */
  bytes(): number {
    let n = 0;
    for (const s of this.states) if (s) n += s.conv.byteLength + s.ssm.byteLength;
    return n;
  }

  /** The truncation rule above: only back to 0 (a reset) or no change. */
  checkTruncate(from: number, to: number): void {
    if (to >= from) return;
    if (to === 0) return this.reset();
    throw new InputError(`cannot truncate a sequence with recurrent layers from ${from} to ${to} tokens`, {
      hint: "recurrent states keep no snapshots: re-compute the sequence from position 0",
    });
  }
}
