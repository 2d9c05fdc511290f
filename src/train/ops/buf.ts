/**
 * Training ops run on Float32Array in training and on Float64Array in the gradient checks
 * (finite differences need double precision to be meaningful), so every op takes either.
 */
export type Buf = Float32Array | Float64Array;
export type BufCtor = Float32ArrayConstructor | Float64ArrayConstructor;
/** Where a model's buffers come from: a typed-array constructor, or an allocator of views
 *  (the WASM arena: buffers inside the kernels' memory). */
export type Alloc = (n: number) => Buf;

export function allocFrom(src: BufCtor | Alloc): Alloc {
  if ("BYTES_PER_ELEMENT" in src) return (n) => new src(n);
  return src;
}
