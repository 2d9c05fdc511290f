/** The v2 word-problem recipe lives in word.ts with v1 (one module); this path keeps the old import working. */
export { wordProblemV2 } from "./word.js";
