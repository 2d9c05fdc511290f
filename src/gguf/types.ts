/**
 * ggml tensor types as stored in GGUF tensor infos (values from ggml.h `enum ggml_type`).
 * Never compare a type with a bare number: use GGMLType.X.
 */
export enum GGMLType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  // 4 and 5 (Q4_2, Q4_3) were removed from ggml.
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  // 31..33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) and 36..38 (IQ4_NL_x_y) were removed from ggml.
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
}

export interface GGMLTypeTraits {
  readonly name: string;
  /** Elements per block (1 for plain scalar types). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  /** True when src/quant has a reference dequantizer for this type. */
  readonly quantized: boolean;
}

const T = (name: string, blockSize: number, typeSize: number, quantized: boolean): GGMLTypeTraits => ({
  name,
  blockSize,
  typeSize,
  quantized,
});

/** Block geometry of every type ggml can store in a GGUF file (ggml.c `type_traits`). */
export const GGML_TYPE_TRAITS: ReadonlyMap<GGMLType, GGMLTypeTraits> = new Map([
  [GGMLType.F32, T("F32", 1, 4, false)],
  [GGMLType.F16, T("F16", 1, 2, false)],
  [GGMLType.BF16, T("BF16", 1, 2, false)],
  [GGMLType.F64, T("F64", 1, 8, false)],
  [GGMLType.I8, T("I8", 1, 1, false)],
  [GGMLType.I16, T("I16", 1, 2, false)],
  [GGMLType.I32, T("I32", 1, 4, false)],
  [GGMLType.I64, T("I64", 1, 8, false)],
  [GGMLType.Q4_0, T("Q4_0", 32, 18, true)],
  [GGMLType.Q4_1, T("Q4_1", 32, 20, true)],
  [GGMLType.Q5_0, T("Q5_0", 32, 22, true)],
  [GGMLType.Q5_1, T("Q5_1", 32, 24, true)],
  [GGMLType.Q8_0, T("Q8_0", 32, 34, true)],
  [GGMLType.Q8_1, T("Q8_1", 32, 36, true)],
  [GGMLType.Q2_K, T("Q2_K", 256, 84, true)],
  [GGMLType.Q3_K, T("Q3_K", 256, 110, true)],
  [GGMLType.Q4_K, T("Q4_K", 256, 144, true)],
  [GGMLType.Q5_K, T("Q5_K", 256, 176, true)],
  [GGMLType.Q6_K, T("Q6_K", 256, 210, true)],
  [GGMLType.Q8_K, T("Q8_K", 256, 292, true)],
  [GGMLType.IQ2_XXS, T("IQ2_XXS", 256, 66, true)],
  [GGMLType.IQ2_XS, T("IQ2_XS", 256, 74, true)],
  [GGMLType.IQ3_XXS, T("IQ3_XXS", 256, 98, true)],
  [GGMLType.IQ1_S, T("IQ1_S", 256, 50, true)],
  [GGMLType.IQ4_NL, T("IQ4_NL", 32, 18, true)],
  [GGMLType.IQ3_S, T("IQ3_S", 256, 110, true)],
  [GGMLType.IQ2_S, T("IQ2_S", 256, 82, true)],
  [GGMLType.IQ4_XS, T("IQ4_XS", 256, 136, true)],
  [GGMLType.IQ1_M, T("IQ1_M", 256, 56, true)],
  [GGMLType.TQ1_0, T("TQ1_0", 256, 54, true)],
  [GGMLType.TQ2_0, T("TQ2_0", 256, 66, true)],
  [GGMLType.MXFP4, T("MXFP4", 32, 17, true)],
]);

export function isKnownGGMLType(t: number): t is GGMLType {
  return GGML_TYPE_TRAITS.has(t as GGMLType);
}

export function ggmlTypeTraits(t: GGMLType): GGMLTypeTraits {
  const tr = GGML_TYPE_TRAITS.get(t);
  if (!tr) throw new RangeError(`unknown ggml type ${t}`);
  return tr;
}

export function ggmlTypeName(t: GGMLType): string {
  return GGML_TYPE_TRAITS.get(t)?.name ?? `unknown(${t})`;
}

/** Parse a type name such as "q4_k" or "F16" (case-insensitive). */
export function ggmlTypeFromName(name: string): GGMLType | undefined {
  const up = name.toUpperCase();
  for (const [t, tr] of GGML_TYPE_TRAITS) if (tr.name === up) return t;
  return undefined;
}

/**
 * Bytes taken by `nElements` of type `t` laid out in rows of `rowLength` elements.
 * Row length must be a multiple of the block size (ggml requires it of dim 0).
 */
export function ggmlRowBytes(t: GGMLType, rowLength: number): number {
  const tr = ggmlTypeTraits(t);
  if (rowLength % tr.blockSize !== 0) {
    throw new RangeError(
      `row length ${rowLength} is not a multiple of ${tr.name} block size ${tr.blockSize}`,
    );
  }
  return (rowLength / tr.blockSize) * tr.typeSize;
}
