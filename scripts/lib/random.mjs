// Seeded pseudo-random numbers, for workloads that must be the same every run.

/** xorshift32: a function returning numbers in [0, 1); the same seed gives the same sequence on every run. */
export function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}
