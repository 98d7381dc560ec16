/* numpy's SFC64 bit generator (numpy/random/src/sfc64/sfc64.h), advanced here so that a per-step weight-noise
 * draw costs its arithmetic (issue 31): the same 64-bit numbers as numpy's random_raw from the same state, and a
 * float32 draw's normals (sfc64_normal_f32) and keep masks (sfc64_keep_f32) made in one pass from vectorised
 * streams. Integer arithmetic, exact conversions and single IEEE operations only (built with -ffp-contract=off, no
 * fast-math): the same bits on every compiler, instruction set and number of threads, and the same bits as
 * cpu_draws (_normal_f32, Lanes.keep), which computes the same operations with numpy and torch where this file is
 * not built. Loaded through ctypes by native.py. */
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)  /* ifunc: glibc */
#if __has_attribute(target_clones)
/* one build for every x86-64 machine: the loader picks the widest vectors the CPU has (the results are the same) */
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

static inline uint64_t rotl(uint64_t v, unsigned r) { return (v << r) | (v >> (64 - r)); }

/* the next number of the stream whose state (a, b, c, counter) is s[0..3], s advanced */
static inline uint64_t sfc64_next(uint64_t *s) {
    const uint64_t tmp = s[0] + s[1] + s[3]++;
    s[0] = s[1] ^ (s[1] >> 11);
    s[1] = s[2] + (s[2] << 3);
    s[2] = rotl(s[2], 24) + tmp;
    return tmp;
}

/* n numbers of the stream whose state is s, into out; s is advanced */
void sfc64_raw(uint64_t *s, int64_t n, uint64_t *out) {
    uint64_t st[4] = {s[0], s[1], s[2], s[3]};  /* in registers, not through out's memory */
    for (int64_t i = 0; i < n; i++) out[i] = sfc64_next(st);
    memcpy(s, st, sizeof st);
}

/* n numbers of LANES SFC64 streams taken in turn (number i from stream i % LANES; s: their states, 4 numbers each),
 * into out: one stream alone is a chain of dependent operations, LANES of them side by side fill the vector units. */
enum { LANES = 8 };
/* GCC/Clang vectors: one operation, LANES numbers */
typedef uint64_t lanes_u64 __attribute__((vector_size(8 * LANES)));
VECTOR_CLONES
static void sfc64_raw_lanes(uint64_t *s, int64_t n, uint64_t *out) {
    lanes_u64 a, b, c, w;
    for (int l = 0; l < LANES; l++) { a[l] = s[4 * l]; b[l] = s[4 * l + 1]; c[l] = s[4 * l + 2]; w[l] = s[4 * l + 3]; }
    int64_t i = 0;
    for (;; i += LANES) {
        if (i + LANES > n) {  /* the last numbers: the first streams advance once more than the others */
            for (int l = 0; l < LANES; l++) {
                uint64_t *sl = s + 4 * l;
                sl[0] = a[l]; sl[1] = b[l]; sl[2] = c[l]; sl[3] = w[l];
                if (i + l < n) out[i + l] = sfc64_next(sl);
            }
            return;
        }
        const lanes_u64 t = a + b + w;
        w += 1;
        a = b ^ (b >> 11);
        b = c + (c << 3);
        c = ((c << 24) | (c >> 40)) + t;
        memcpy(out + i, &t, sizeof t);
    }
}

/* the coefficients, in cpu_draws.NORMAL_F32's order (defined there once, passed in) */
enum { SQRT2, LN2, L3, L5, L7, L9, S3, S5, S7, S9, C2, C4, C6, C8, C10, STEP };

/* c[n-1] z^(n-1) + ... + c[0] by Horner's rule, each product and sum rounded once (as cpu_draws._normal_f32) */
static inline float horner(float z, const float *c, int n) {
    float p = c[n - 1];
    for (int i = n - 2; i >= 0; i--) p = z * p + c[i];
    return p;
}

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
        const float p = horner(z, c + L3, 4);
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
        float sp = horner(x2, c + S3, 4);
        sp = x2 * sp;
        sp = x * sp;
        const float sn = x + sp;
        float cp = horner(x2, c + C2, 5);
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

/* `pairs` pairs of normals N(mean, std^2) into out (2 * pairs floats). The pairs are cut into GROUPS chunks of
 * ceil(pairs / GROUPS) (the last ones shorter or empty), chunk g drawn from its own LANES streams (s: GROUPS * LANES
 * states, group g's from s + 4 LANES g), taken in turn (sfc64_raw_lanes); each number, read as two 32-bit words (low
 * half k1, high half k2), gives the pair (cos, sin) in the same 8 bytes, so a block is drawn into out and transformed
 * in place while it is in cache. With OpenMP (torch's own runtime: native.py builds with it only where torch's libgomp
 * is loaded) the chunks run on torch's threads, each drawn and transformed where it is used; the chunks and their
 * streams do not depend on the number of threads, so the threads change the time, never a bit. */
enum { BLOCK = 512, GROUPS = 4 };

VECTOR_CLONES
static void transform(float *out, int64_t j, int n, const float *c, float std, float mean) {
    uint32_t k1[BLOCK], k2[BLOCK];
    float o0[BLOCK], o1[BLOCK];
    const uint32_t *words = (const uint32_t *)(out + 2 * j);
    for (int i = 0; i < n; i++) { k1[i] = words[2 * i]; k2[i] = words[2 * i + 1]; }
    box_muller_block(k1, k2, n, c, std, mean, o0, o1);
    for (int i = 0; i < n; i++) { out[2 * (j + i)] = o0[i]; out[2 * (j + i) + 1] = o1[i]; }
}

/* the driver of both draws: n numbers cut into GROUPS chunks of ceil(n / GROUPS), chunk g from the LANES streams at
 * s + 4 LANES g, each chunk handed to `block` in blocks of BLOCK (j - lo is a multiple of LANES: number j + i is
 * stream i % LANES's), the chunks on OpenMP's threads */
typedef struct { const float *c; float std, mean; float *out; uint64_t thr; } draw_args;
typedef void (*block_fn)(uint64_t *s, int64_t j, int n, const draw_args *a);

static void chunks(uint64_t *s, int64_t n, block_fn block, const draw_args *a) {
    const int64_t chunk = (n + GROUPS - 1) / GROUPS;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n > 4 * BLOCK)
#endif
    for (int g = 0; g < GROUPS; g++) {
        const int64_t lo = g * chunk < n ? g * chunk : n, hi = (g + 1) * chunk < n ? (g + 1) * chunk : n;
        for (int64_t j = lo; j < hi; j += BLOCK) block(s + 4 * LANES * g, j, (int)(hi - j < BLOCK ? hi - j : BLOCK), a);
    }
}

static void normal_block(uint64_t *s, int64_t j, int n, const draw_args *a) {
    sfc64_raw_lanes(s, n, (uint64_t *)(a->out + 2 * j));
    transform(a->out, j, n, a->c, a->std, a->mean);
}

void sfc64_normal_f32(uint64_t *s, int64_t pairs, const float *c, float std, float mean, float *out) {
    const draw_args a = {c, std, mean, out, 0};
    chunks(s, pairs, normal_block, &a);
}

/* out[i] = 1.0f where the top 53 bits of raw[i] are below thr (<= 2^53: a signed compare, which every vector
 * unit has) */
VECTOR_CLONES
static void keep_block(const uint64_t *raw, int m, int64_t thr, float *out) {
    for (int i = 0; i < m; i++) out[i] = (float)(int32_t)((int64_t)(raw[i] >> 11) < thr);
}

static void keep_numbers(uint64_t *s, int64_t j, int n, const draw_args *a) {
    uint64_t raw[BLOCK];
    sfc64_raw_lanes(s, n, raw);
    keep_block(raw, n, (int64_t)a->thr, a->out + j);
}

/* n Bernoulli(P) numbers, P = thr 2^-53 (cpu_draws: thr = ceil(q 2^53)), as 1.0f / 0.0f into out: number i keeps
 * where its top 53 bits are below thr; the numbers are those of sfc64_normal_f32's chunks and streams (n of them, not
 * pairs). */
void sfc64_keep_f32(uint64_t *s, int64_t n, uint64_t thr, float *out) {
    const draw_args a = {NULL, 0.0f, 0.0f, out, thr};
    chunks(s, n, keep_numbers, &a);
}
