// Entry point of the kernel module: every export here is callable from src/kernels/wasm/.
// All pointers are byte offsets into the imported shared memory; "groups" are 4-row groups.
export { quantize_q8_0, quantize_q8_1, quantize_q8_k, round_f16, round_bf16 } from "./quantize";
export { quantize_q8_0_i8, quantize_q8_0_abs, quantize_q8_k_i8, rms_norm_quant } from "./quantize";
export { matvec_q8_0_r, matmul_q8_0_r, matvec_q4_0_r, matmul_q4_0_r, matvec_q4_k_r, matmul_q4_k_r } from "./dot8";
export { matvec_q5_k_r, matmul_q5_k_r, matvec_q6_k_r, matmul_q6_k_r, probe_dot8 } from "./dot8";
export { matvec_f32, matmul_f32 } from "./f32";
export { matvec_f16, matmul_f16, matvec_bf16, matmul_bf16 } from "./f16";
export { matvec_q8_0, matmul_q8_0 } from "./q8_0";
export { matvec_q4_0, matmul_q4_0 } from "./q4_0";
export { matvec_q4_1, matmul_q4_1, matvec_q5_0, matmul_q5_0, matvec_q5_1, matmul_q5_1 } from "./q4x";
export { matvec_q4_k, matmul_q4_k, matvec_q5_k, matmul_q5_k } from "./q4_k";
export { matvec_q6_k, matmul_q6_k } from "./q6_k";
export { silu_mul, add_f32, rms_norm, attention_f32, softmax_f32, rope_f32 } from "./ops";
export { attention_paged, attention_full_f32 } from "./attention";
export { attention_paged_q } from "./attention_q";
export { read_sum } from "./bench";
export { matvec_k16, matmul_k16 } from "./k16";
export { quantize_q8_k_abs } from "./quantize";
export { matvec_iq4_nl, matmul_iq4_nl, matvec_iq4_xs, matmul_iq4_xs } from "./iq4";
export { quantize_q8_1_i8 } from "./quantize";
export { matvec_q4_1_r, matmul_q4_1_r, matvec_q5_0_r, matmul_q5_0_r, matvec_q5_1_r, matmul_q5_1_r } from "./q4x8";
export { init_consts } from "./common";
export { matvec_mxfp4, matmul_mxfp4 } from "./iq4";
export { attention_sinks } from "./sinks";
export { lora_add_f16, lora_add_f32, lora_round_f16 } from "./lora";
