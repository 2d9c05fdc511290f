/**
 * Where a weight byte goes inside a 4-row group of the kernels' repacked layouts (repack.ts and
 * the layout-*.ts writers; unpack.ts reads them back): column c (0..3) of group row ri.
 */

/** Byte position inside a 16-byte chunk of column c (0..3) of group row ri: pairs per row. */
export function pos(ri: number, c: number): number {
  return 8 * (c >> 1) + 2 * ri + (c & 1);
}

/** Byte position of column c (0..3) of group row ri in a 16-byte chunk read as i16 lanes
 *  (Q4_0, Q4_K): lane 2ri+j holds columns j (low byte) and 2+j (high byte). */
export function pos16(ri: number, c: number): number {
  return 4 * ri + 2 * (c & 1) + (c >> 1);
}

/** Byte position of column c (0..3) of group row ri in the int8-dot layouts (relaxed build,
 *  kernels-src/assembly/dot8.ts): each row's 4 columns contiguous, so one i32 lane = one row
 *  for i32x4.relaxed_dot_i8x16_i7x16_add_s against 4 splatted activation bytes. */
export function pos8(ri: number, c: number): number {
  return 4 * ri + c;
}
