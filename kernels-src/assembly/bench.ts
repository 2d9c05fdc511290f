// Memory-read probe for the benchmark: sums unit u's 64 KiB of f32 into out[u] (one output per
// unit, so threads never share an output). Four accumulators keep the loads independent.
export function read_sum(p: usize, out: usize, u0: i32, u1: i32): void {
  for (let u = u0; u < u1; u++) {
    let q = p + (<usize>u << 16);
    const end = q + 65536;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (; q < end; q += 64) {
      a0 = f32x4.add(a0, v128.load(q));
      a1 = f32x4.add(a1, v128.load(q, 16));
      a2 = f32x4.add(a2, v128.load(q, 32));
      a3 = f32x4.add(a3, v128.load(q, 48));
    }
    v128.store(out + (<usize>u << 4), f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  }
}
