// Which of the engine's two wasm builds this browser (or Node) runs. scripts/build-web.sh makes both
// from the same source, with one JS glue (pkg/torchpeek_engine.js): `relaxed`, built with
// relaxed-simd, where the multiply-adds of the matrix kernels are fused (about 1.2x faster steady
// runs on transformers: README, "Inference"), and `simd`, plain 128-bit SIMD, for engines without
// relaxed-simd. The choice is the engine's: it validates a module using a relaxed-simd instruction.
// The engine worker, npm's `torchpeek/engine`, the service worker (scripts/precache.mjs writes the
// probe into it) and the engine benchmark all choose here.

/** A module using `i8x16.relaxed_swizzle`: valid only where relaxed-simd is (wasm-feature-detect's probe). */
export const RELAXED_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11];

/** Each build's wasm file, next to the glue. */
export const ENGINE_WASM = { relaxed: 'torchpeek_engine_relaxed_bg.wasm', simd: 'torchpeek_engine_bg.wasm' };

/** `relaxed` where WebAssembly validates relaxed-simd, else `simd`. */
export function engineBuild() {
  return WebAssembly.validate(new Uint8Array(RELAXED_PROBE)) ? 'relaxed' : 'simd';
}
