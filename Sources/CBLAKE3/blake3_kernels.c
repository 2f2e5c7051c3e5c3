// BLAKE3's compression function applied to several inputs at once, one input per SIMD lane. Written from the
// specification (https://github.com/BLAKE3-team/BLAKE3-specs, §2 and §5.3 "SIMD"); the tree logic lives in Swift
// (Sources/Shared/Backup/Archive/BLAKE3.swift). Checked against the official test vectors and b3sum by the tests.
#include "CBLAKE3.h"

#include <string.h>

static const uint32_t IV[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                               0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// The message word order of each of the seven rounds (the permutation 2,6,3,10,7,0,4,13,1,11,12,5,9,14,15,8 applied
// round after round).
static const uint8_t SCHEDULE[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

static inline uint32_t load32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void store32(uint8_t *p, uint32_t w) {
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

// One G mixing step on the state words (or vectors) a, b, c, d with message words x, y. ADD, XOR and the four
// rotations are defined by each kernel before use.
#define G(a, b, c, d, x, y)                                                                                            \
    do {                                                                                                               \
        a = ADD(ADD(a, b), x);                                                                                         \
        d = ROT16(XOR(d, a));                                                                                          \
        c = ADD(c, d);                                                                                                 \
        b = ROT12(XOR(b, c));                                                                                          \
        a = ADD(ADD(a, b), y);                                                                                         \
        d = ROT8(XOR(d, a));                                                                                           \
        c = ADD(c, d);                                                                                                 \
        b = ROT7(XOR(b, c));                                                                                           \
    } while (0)

// The seven rounds on state v[16] with message m[16].
#define ROUNDS(v, m)                                                                                                   \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < 7; r++) {                                                                                      \
        const uint8_t *s = SCHEDULE[r];                                                                                \
        G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);                                                                  \
        G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);                                                                  \
        G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);                                                                 \
        G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);                                                                 \
        G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);                                                                 \
        G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);                                                               \
        G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);                                                                \
        G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);                                                                \
    }

// MARK: - Portable: one input at a time.

#define ADD(a, b) ((a) + (b))
#define XOR(a, b) ((a) ^ (b))
#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROT16(x) ROTR(x, 16)
#define ROT12(x) ROTR(x, 12)
#define ROT8(x) ROTR(x, 8)
#define ROT7(x) ROTR(x, 7)

void bastion_blake3_compress(uint32_t cv[8], const uint8_t block[64], uint8_t block_len, uint64_t counter,
                             uint8_t flags) {
    uint32_t m[16];
    for (int i = 0; i < 16; i++) m[i] = load32(block + i * 4);
    uint32_t v[16] = {cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7], IV[0], IV[1], IV[2], IV[3],
                      (uint32_t)counter, (uint32_t)(counter >> 32), block_len, flags};
    ROUNDS(v, m)
    for (int i = 0; i < 8; i++) cv[i] = v[i] ^ v[i + 8];
}

static void hash_one_portable(const uint8_t *input, size_t blocks, const uint32_t key[8], uint64_t counter,
                              uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
    uint32_t h[8];
    memcpy(h, key, sizeof h);
    uint8_t block_flags = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks) block_flags |= flags_end;
        bastion_blake3_compress(h, input + b * 64, 64, counter, block_flags);
        block_flags = flags;
    }
    for (int i = 0; i < 8; i++) store32(out + i * 4, h[i]);
}

#undef ADD
#undef XOR
#undef ROT16
#undef ROT12
#undef ROT8
#undef ROT7

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// MARK: - SSE2: four inputs, one per 32-bit lane (SSE2 is part of every x86-64 CPU).

#define ADD(a, b) _mm_add_epi32(a, b)
#define XOR(a, b) _mm_xor_si128(a, b)
#define ROT16(x) _mm_shufflehi_epi16(_mm_shufflelo_epi16(x, 0xB1), 0xB1)
#define ROT12(x) _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20))
#define ROT8(x) _mm_or_si128(_mm_srli_epi32(x, 8), _mm_slli_epi32(x, 24))
#define ROT7(x) _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25))

// Rows a, b, c, d (four words of four inputs) become columns (one word of each input).
static inline void transpose4(__m128i v[4]) {
    __m128i ab01 = _mm_unpacklo_epi32(v[0], v[1]);
    __m128i ab23 = _mm_unpackhi_epi32(v[0], v[1]);
    __m128i cd01 = _mm_unpacklo_epi32(v[2], v[3]);
    __m128i cd23 = _mm_unpackhi_epi32(v[2], v[3]);
    v[0] = _mm_unpacklo_epi64(ab01, cd01);
    v[1] = _mm_unpackhi_epi64(ab01, cd01);
    v[2] = _mm_unpacklo_epi64(ab23, cd23);
    v[3] = _mm_unpackhi_epi64(ab23, cd23);
}

static void hash4_sse2(const uint8_t *input, size_t blocks, const uint32_t key[8], uint64_t counter, int increment,
                       uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
    const size_t stride = blocks * 64;
    __m128i h[8];
    for (int i = 0; i < 8; i++) h[i] = _mm_set1_epi32((int)key[i]);
    uint64_t c[4];
    for (int i = 0; i < 4; i++) c[i] = counter + (increment ? (uint64_t)i : 0);
    const __m128i counter_low = _mm_setr_epi32((int)c[0], (int)c[1], (int)c[2], (int)c[3]);
    const __m128i counter_high =
        _mm_setr_epi32((int)(c[0] >> 32), (int)(c[1] >> 32), (int)(c[2] >> 32), (int)(c[3] >> 32));
    uint8_t block_flags = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks) block_flags |= flags_end;
        __m128i m[16];
        for (int quarter = 0; quarter < 4; quarter++) {
            for (int i = 0; i < 4; i++)
                m[quarter * 4 + i] = _mm_loadu_si128((const __m128i *)(input + i * stride + b * 64 + quarter * 16));
            transpose4(&m[quarter * 4]);
        }
        __m128i v[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
                         _mm_set1_epi32((int)IV[0]), _mm_set1_epi32((int)IV[1]), _mm_set1_epi32((int)IV[2]),
                         _mm_set1_epi32((int)IV[3]), counter_low, counter_high, _mm_set1_epi32(64),
                         _mm_set1_epi32(block_flags)};
        ROUNDS(v, m)
        for (int i = 0; i < 8; i++) h[i] = XOR(v[i], v[i + 8]);
        block_flags = flags;
    }
    transpose4(&h[0]);
    transpose4(&h[4]);
    for (int i = 0; i < 4; i++) {
        _mm_storeu_si128((__m128i *)(out + i * 32), h[i]);
        _mm_storeu_si128((__m128i *)(out + i * 32 + 16), h[i + 4]);
    }
}

#undef ADD
#undef XOR
#undef ROT16
#undef ROT12
#undef ROT8
#undef ROT7

// MARK: - AVX2: eight inputs, one per 32-bit lane; used only when the CPU reports AVX2.

#define ADD(a, b) _mm256_add_epi32(a, b)
#define XOR(a, b) _mm256_xor_si256(a, b)
#define ROT16(x)                                                                                                       \
    _mm256_shuffle_epi8(x, _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12, 15, 14, 9, 8, \
                                           11, 10, 5, 4, 7, 6, 1, 0, 3, 2))
#define ROT12(x) _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20))
#define ROT8(x)                                                                                                        \
    _mm256_shuffle_epi8(x, _mm256_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1, 12, 15, 14, 13, 8, 11, \
                                           10, 9, 4, 7, 6, 5, 0, 3, 2, 1))
#define ROT7(x) _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25))

__attribute__((target("avx2"))) static inline void transpose8(__m256i v[8]) {
    __m256i ab0145 = _mm256_unpacklo_epi32(v[0], v[1]);
    __m256i ab2367 = _mm256_unpackhi_epi32(v[0], v[1]);
    __m256i cd0145 = _mm256_unpacklo_epi32(v[2], v[3]);
    __m256i cd2367 = _mm256_unpackhi_epi32(v[2], v[3]);
    __m256i ef0145 = _mm256_unpacklo_epi32(v[4], v[5]);
    __m256i ef2367 = _mm256_unpackhi_epi32(v[4], v[5]);
    __m256i gh0145 = _mm256_unpacklo_epi32(v[6], v[7]);
    __m256i gh2367 = _mm256_unpackhi_epi32(v[6], v[7]);
    __m256i abcd04 = _mm256_unpacklo_epi64(ab0145, cd0145);
    __m256i abcd15 = _mm256_unpackhi_epi64(ab0145, cd0145);
    __m256i abcd26 = _mm256_unpacklo_epi64(ab2367, cd2367);
    __m256i abcd37 = _mm256_unpackhi_epi64(ab2367, cd2367);
    __m256i efgh04 = _mm256_unpacklo_epi64(ef0145, gh0145);
    __m256i efgh15 = _mm256_unpackhi_epi64(ef0145, gh0145);
    __m256i efgh26 = _mm256_unpacklo_epi64(ef2367, gh2367);
    __m256i efgh37 = _mm256_unpackhi_epi64(ef2367, gh2367);
    v[0] = _mm256_permute2x128_si256(abcd04, efgh04, 0x20);
    v[1] = _mm256_permute2x128_si256(abcd15, efgh15, 0x20);
    v[2] = _mm256_permute2x128_si256(abcd26, efgh26, 0x20);
    v[3] = _mm256_permute2x128_si256(abcd37, efgh37, 0x20);
    v[4] = _mm256_permute2x128_si256(abcd04, efgh04, 0x31);
    v[5] = _mm256_permute2x128_si256(abcd15, efgh15, 0x31);
    v[6] = _mm256_permute2x128_si256(abcd26, efgh26, 0x31);
    v[7] = _mm256_permute2x128_si256(abcd37, efgh37, 0x31);
}

__attribute__((target("avx2"))) static void hash8_avx2(const uint8_t *input, size_t blocks, const uint32_t key[8],
                                                       uint64_t counter, int increment, uint8_t flags,
                                                       uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
    const size_t stride = blocks * 64;
    __m256i h[8];
    for (int i = 0; i < 8; i++) h[i] = _mm256_set1_epi32((int)key[i]);
    uint64_t c[8];
    for (int i = 0; i < 8; i++) c[i] = counter + (increment ? (uint64_t)i : 0);
    const __m256i counter_low = _mm256_setr_epi32((int)c[0], (int)c[1], (int)c[2], (int)c[3], (int)c[4], (int)c[5],
                                                  (int)c[6], (int)c[7]);
    const __m256i counter_high =
        _mm256_setr_epi32((int)(c[0] >> 32), (int)(c[1] >> 32), (int)(c[2] >> 32), (int)(c[3] >> 32),
                          (int)(c[4] >> 32), (int)(c[5] >> 32), (int)(c[6] >> 32), (int)(c[7] >> 32));
    uint8_t block_flags = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks) block_flags |= flags_end;
        __m256i m[16];
        for (int half = 0; half < 2; half++) {
            for (int i = 0; i < 8; i++)
                m[half * 8 + i] = _mm256_loadu_si256((const __m256i *)(input + i * stride + b * 64 + half * 32));
            transpose8(&m[half * 8]);
        }
        __m256i v[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
                         _mm256_set1_epi32((int)IV[0]), _mm256_set1_epi32((int)IV[1]), _mm256_set1_epi32((int)IV[2]),
                         _mm256_set1_epi32((int)IV[3]), counter_low, counter_high, _mm256_set1_epi32(64),
                         _mm256_set1_epi32(block_flags)};
        ROUNDS(v, m)
        for (int i = 0; i < 8; i++) h[i] = XOR(v[i], v[i + 8]);
        block_flags = flags;
    }
    transpose8(h);
    for (int i = 0; i < 8; i++) _mm256_storeu_si256((__m256i *)(out + i * 32), h[i]);
}

#undef ADD
#undef XOR
#undef ROT16
#undef ROT12
#undef ROT8
#undef ROT7

static int has_avx2(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return cached;
}
#endif

void bastion_blake3_hash_many(const uint8_t *input, size_t count, size_t blocks, const uint32_t key[8], uint64_t counter,
                              int increment_counter, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
    const size_t stride = blocks * 64;
    uint64_t step = increment_counter ? 1 : 0;
#if defined(__x86_64__) || defined(__i386__)
    if (has_avx2()) {
        while (count >= 8) {
            hash8_avx2(input, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
            input += 8 * stride;
            out += 8 * 32;
            counter += 8 * step;
            count -= 8;
        }
    }
    while (count >= 4) {
        hash4_sse2(input, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
        input += 4 * stride;
        out += 4 * 32;
        counter += 4 * step;
        count -= 4;
    }
#endif
    while (count > 0) {
        hash_one_portable(input, blocks, key, counter, flags, flags_start, flags_end, out);
        input += stride;
        out += 32;
        counter += step;
        count -= 1;
    }
}

const char *bastion_blake3_kernel(void) {
#if defined(__x86_64__) || defined(__i386__)
    return has_avx2() ? "avx2" : "sse2";
#else
    return "portable";
#endif
}
