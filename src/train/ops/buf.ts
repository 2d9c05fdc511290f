/**
 * Training ops run on Float32Array in training and on Float64Array in the gradient checks
 * (finite differences need double precision to be meaningful), so every op takes either.
 */
export type Buf = Float32Array | Float64Array;
export type BufCtor = Float32ArrayConstructor | Float64ArrayConstructor;
