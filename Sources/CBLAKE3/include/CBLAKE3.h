#ifndef BASTION_CBLAKE3_H
#define BASTION_CBLAKE3_H

#include <stddef.h>
#include <stdint.h>

/// BLAKE3's wide kernel: the chaining values of `count` independent inputs of `blocks` 64-byte blocks each, laid out
/// one after another from `input` (input i starts at input + i * blocks * 64). Input i gets the counter
/// `counter + i` when `increment_counter` is non-zero, else `counter`; its first block gets `flags | flags_start`, its
/// last `flags | flags_end`. The 32-byte little-endian chaining value of input i goes to out + i * 32. `out` may be
/// `input` (outputs never overtake the inputs still to be read), which lets parent levels be reduced in place.
/// Uses AVX2 (8 inputs at a time) or SSE2 (4) when the CPU has them, then a portable loop for the rest.
void bastion_blake3_hash_many(const uint8_t *input, size_t count, size_t blocks, const uint32_t key[8], uint64_t counter,
                              int increment_counter, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);

/// One compression, truncated to the chaining value: `cv` (8 words) becomes the first 8 words of
/// compress(cv, block, counter, block_len, flags). `block` is 64 little-endian bytes, zero-padded after `block_len`.
/// The tree logic in Swift uses it for partial chunks, parents and the root.
void bastion_blake3_compress(uint32_t cv[8], const uint8_t block[64], uint8_t block_len, uint64_t counter,
                             uint8_t flags);

/// Which kernel `bastion_blake3_hash_many` uses for groups of 8 on this CPU: "avx2", "sse2" or "portable".
const char *bastion_blake3_kernel(void);

#endif
