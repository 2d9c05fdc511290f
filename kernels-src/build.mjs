// Builds the WebAssembly kernels (placeholder until the kernels land; see issue #3).
console.log("kernels: nothing to build yet");
