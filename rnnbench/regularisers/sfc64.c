/* numpy's SFC64 bit generator (numpy/random/src/sfc64/sfc64.h), advanced here so that a per-step weight-noise
 * draw costs its arithmetic (issue 31): the same 64-bit numbers as numpy's random_raw from the same state, and a
 * float32 draw's normals made from them in one pass (sfc64_normal_f32). Integer arithmetic, exact conversions and
 * single IEEE operations only (built with -ffp-contract=off, no fast-math): the same bits on every compiler and
 * instruction set, and the same bits as cpu_draws._normal_f32, which computes the same operations with torch's
 * kernels where this file is not built. Loaded through ctypes by native.py. */
#include <stdint.h>
#include <string.h>

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

/* the coefficients, in cpu_draws.NORMAL_F32's order (defined there once, passed in) */
enum { SQRT2, LN2, L3, L5, L7, L9, S3, S5, S7, S9, C2, C4, C6, C8, C10, STEP, NCOEF };

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)  /* ifunc: glibc */
#if __has_attribute(target_clones)
/* one build for every x86-64 machine: the loader picks the widest vectors the CPU has (the results are the same) */
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

static inline float from_bits(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t to_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

/* Box-Muller on n pairs of 24-bit words (k1[j], k2[j]): r = std sqrt(-2 log u), u = (k1 + 1) 2^-24 in (0, 1], and
 * the angle 2 pi k2 2^-24; out0[j] = mean + r cos, out1[j] = mean + r sin. The log is 2 atanh((y-1)/(y+1)) on the
 * mantissa y in [sqrt(1/2), sqrt(2)); the angle is reduced exactly on the integer (quadrant q, remainder
 * x in [-pi/4, pi/4)), where sin and cos are their Taylor polynomials. Step for step as cpu_draws._normal_f32. */
VECTOR_CLONES
static void box_muller_block(const uint32_t *k1, const uint32_t *k2, int n, const float *c, float std, float mean,
                             float *out0, float *out1) {
    for (int j = 0; j < n; j++) {
        /* log u: u 2^24 = m = 2^e y exactly */
        const float m = (float)(int32_t)((k1[j] & 0xFFFFFFu) + 1u);
        const uint32_t b = to_bits(m);
        int32_t e = (int32_t)(b >> 23) - 127;
        const uint32_t yb = (b & 0x7FFFFFu) | 0x3F800000u;  /* y in [1, 2) */
        const int32_t big = from_bits(yb) > c[SQRT2];
        const float y = from_bits(yb - ((uint32_t)big << 23));  /* halved (exactly) above sqrt 2 */
        e = e + big - 24;
        const float s = (y - 1.0f) / (y + 1.0f);
        const float z = s * s;
        float p = z * c[L9];
        p = p + c[L7];
        p = z * p;
        p = p + c[L5];
        p = z * p;
        p = p + c[L3];
        const float t = s + s;
        float lg = z * p;
        lg = t * lg;
        lg = t + lg;
        float lu = (float)e * c[LN2];
        lu = lu + lg;
        float r = lu * -2.0f;
        r = __builtin_sqrtf(r);
        r = r * std;
        /* the angle: k2 = q 2^22 + kk (mod 2^24), kk in [-2^21, 2^21) */
        const int32_t k = (int32_t)(k2[j] & 0xFFFFFFu) + (1 << 21);
        const int32_t q = (k >> 22) & 3;
        const float x = (float)((k & 0x3FFFFF) - (1 << 21)) * c[STEP];
        const float x2 = x * x;
        float sp = x2 * c[S9];
        sp = sp + c[S7];
        sp = x2 * sp;
        sp = sp + c[S5];
        sp = x2 * sp;
        sp = sp + c[S3];
        sp = x2 * sp;
        sp = x * sp;
        const float sn = x + sp;
        float cp = x2 * c[C10];
        cp = cp + c[C8];
        cp = x2 * cp;
        cp = cp + c[C6];
        cp = x2 * cp;
        cp = cp + c[C4];
        cp = x2 * cp;
        cp = cp + c[C2];
        cp = x2 * cp;
        const float cs = 1.0f + cp;
        /* rotate by q quarter turns: odd q swaps to (-sin, cos), q >= 2 negates */
        const uint32_t odd = 0u - (uint32_t)(q & 1), neg = (uint32_t)(q & 2) << 30;  /* masks, without branches */
        const uint32_t cb = ((to_bits(cs) & ~odd) | ((to_bits(sn) ^ 0x80000000u) & odd)) ^ neg;
        const uint32_t sb = ((to_bits(sn) & ~odd) | (to_bits(cs) & odd)) ^ neg;
        const float cv = r * from_bits(cb), sv = r * from_bits(sb);
        out0[j] = cv + mean;
        out1[j] = sv + mean;
    }
}

/* `pairs` pairs of normals N(mean, std^2) into out (2 * pairs floats: the cos halves, then the sin halves) from the
 * next `pairs` numbers of the stream, read as 2 * pairs 32-bit words (low half first): the first `pairs` words are
 * the k1, the others the k2. The words are drawn into out and transformed in place, in blocks. */
void sfc64_normal_f32(uint64_t *s, int64_t pairs, const float *c, float std, float mean, float *out) {
    sfc64_raw(s, pairs, (uint64_t *)out);
    enum { BLOCK = 512 };
    uint32_t k1[BLOCK], k2[BLOCK];
    for (int64_t j = 0; j < pairs; j += BLOCK) {
        const int n = (int)(pairs - j < BLOCK ? pairs - j : BLOCK);
        memcpy(k1, out + j, 4 * (size_t)n);
        memcpy(k2, out + pairs + j, 4 * (size_t)n);
        box_muller_block(k1, k2, n, c, std, mean, out + j, out + pairs + j);
    }
}
