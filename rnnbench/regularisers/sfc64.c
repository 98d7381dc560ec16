/* numpy's SFC64 bit generator (numpy/random/src/sfc64/sfc64.h), advanced here so that a per-step weight-noise
 * draw costs its arithmetic (issue 31): the same 64-bit numbers as numpy's random_raw from the same state, and
 * the uniforms of cpu_draws.normal made in one pass. Integer arithmetic and exact float conversions only (built
 * with -ffp-contract=off): the same bits on every compiler. Loaded through ctypes by native.py. */
#include <stdint.h>

static inline uint64_t rotl(uint64_t v, unsigned r) { return (v << r) | (v >> (64 - r)); }

/* n numbers of the stream whose state (a, b, c, counter) is s, into out; s is advanced */
void sfc64_raw(uint64_t *s, int64_t n, uint64_t *out) {
    uint64_t a = s[0], b = s[1], c = s[2], w = s[3];
    for (int64_t i = 0; i < n; i++) {
        const uint64_t tmp = a + b + w++;
        a = b ^ (b >> 11);
        b = c + (c << 3);
        c = rotl(c, 24) + tmp;
        out[i] = tmp;
    }
    s[0] = a; s[1] = b; s[2] = c; s[3] = w;
}

/* Box-Muller's uniforms for `pairs` normals pairs, in place in out (2 * pairs floats, the memory of pairs
 * numbers): the stream's numbers read as 2 * pairs 32-bit words k (low half first), their low 24 bits; the
 * first pairs give u1 = (k + 1) 2^-24 in (0, 1], the others theta = k (2 pi 2^-24 as a float), as
 * cpu_draws.normal computes them with torch's kernels. */
void sfc64_box_muller_uniforms(uint64_t *s, int64_t pairs, float *out) {
    sfc64_raw(s, pairs, (uint64_t *)out);
    const uint32_t *k = (const uint32_t *)out;
    const float two_pi = (float)(6.283185307179586 * 0x1p-24);
    for (int64_t j = 0; j < pairs; j++) out[j] = ((float)(int32_t)(k[j] & 0xFFFFFFu) + 1.0f) * 0x1p-24f;
    for (int64_t j = pairs; j < 2 * pairs; j++) out[j] = (float)(int32_t)(k[j] & 0xFFFFFFu) * two_pi;
}
