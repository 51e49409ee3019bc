/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3"): one 128-bit block of random bits from a 64-bit key and a 64-bit
 * counter.  The one definition behind the CPU's draws (core/rng.c's
 * dnn_philox) and the CUDA kernels' (cuda/random.cu), so both devices draw
 * the same values for the same seed and counter. */
#ifndef DNN_CORE_PHILOX_H
#define DNN_CORE_PHILOX_H

#include <stdint.h>

#ifdef __CUDACC__
#define DNN_PHILOX_FN static inline __host__ __device__
#else
#define DNN_PHILOX_FN static inline
#endif

DNN_PHILOX_FN void dnn_philox_block(uint64_t seed, uint64_t counter, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

#endif
