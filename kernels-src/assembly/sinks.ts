// Attention sinks (gpt-oss): one learned logit s_h per query head joins that head's softmax with
// no value row (ggml soft_max's src2), so the weights of the real positions sum to less than 1.
// Applied after attention_paged / attention_paged_q, which leave per (token, head) row the
// running max m and sum l of their online softmax in ml (f32[rows][2]) and out = acc / l. With
// the sink the softmax's max is m' = max(m, s) and its sum l e^(m-m') + e^(s-m'), so each row is
// scaled by l e^(m-m') / (l e^(m-m') + e^(s-m')) (both exponents <= 0: nothing overflows).
import { expf1 } from "./ops";

/** out rows r0..r1-1 ([rows][hd], head h = r % nHead) scaled for sinks f32[nHead]. */
export function attention_sinks(out: usize, ml: usize, sinks: usize, nHead: i32, hd: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const m = load<f32>(ml + (<usize>r << 3));
    const l = load<f32>(ml + (<usize>r << 3), 4);
    const s = load<f32>(sinks + (<usize>(r % nHead) << 2));
    const mm = max<f32>(m, s);
    const a = l * expf1(m - mm);
    const f = a / (a + expf1(s - mm));
    const po = out + <usize>r * (<usize>hd << 2);
    const fv = f32x4.splat(f);
    let i = 0;
    for (; i + 4 <= hd; i += 4) v128.store(po + (<usize>i << 2), f32x4.mul(v128.load(po + (<usize>i << 2)), fv));
    for (; i < hd; i++) store<f32>(po + (<usize>i << 2), load<f32>(po + (<usize>i << 2)) * f);
  }
}
