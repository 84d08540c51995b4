/* The 128-bit multiply-plus-add ceiling of this core, measured in C with the instructions V8
 * emits for f32x4.mul and f32x4.add (vmulps/vaddps on xmm registers when built with -mavx):
 * seven multiply chains and seven add chains, as assembly/peak.ts. The bench compiles it with
 * `gcc -O2 -mavx` and compares the two. Prints the best GFLOP/s of several runs.
 * Usage: peak_probe [runs] [steps per run] */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* `one` is read from a volatile so the compiler cannot fold x * 1 away. */
static volatile float one_v = 1.0f;

__attribute__((noinline)) static float run(long steps) {
  const __m128 c = _mm_set1_ps(one_v);
  __m128 m0 = _mm_set1_ps(1), m1 = _mm_set1_ps(2), m2 = _mm_set1_ps(3), m3 = _mm_set1_ps(4);
  __m128 m4 = _mm_set1_ps(5), m5 = _mm_set1_ps(6), m6 = _mm_set1_ps(7);
  __m128 a0 = _mm_set1_ps(0), a1 = _mm_set1_ps(-1), a2 = _mm_set1_ps(-2), a3 = _mm_set1_ps(-3);
  __m128 a4 = _mm_set1_ps(-4), a5 = _mm_set1_ps(-5), a6 = _mm_set1_ps(-6);
  for (long i = 0; i < steps; i++) {
    m0 = _mm_mul_ps(m0, c); a0 = _mm_add_ps(a0, c);
    m1 = _mm_mul_ps(m1, c); a1 = _mm_add_ps(a1, c);
    m2 = _mm_mul_ps(m2, c); a2 = _mm_add_ps(a2, c);
    m3 = _mm_mul_ps(m3, c); a3 = _mm_add_ps(a3, c);
    m4 = _mm_mul_ps(m4, c); a4 = _mm_add_ps(a4, c);
    m5 = _mm_mul_ps(m5, c); a5 = _mm_add_ps(a5, c);
    m6 = _mm_mul_ps(m6, c); a6 = _mm_add_ps(a6, c);
  }
  __m128 m = _mm_add_ps(_mm_add_ps(_mm_add_ps(m0, m1), _mm_add_ps(m2, m3)), _mm_add_ps(_mm_add_ps(m4, m5), m6));
  __m128 a = _mm_add_ps(_mm_add_ps(_mm_add_ps(a0, a1), _mm_add_ps(a2, a3)), _mm_add_ps(_mm_add_ps(a4, a5), a6));
  float s[4];
  _mm_storeu_ps(s, _mm_add_ps(m, a));
  return s[0] + s[1] + s[2] + s[3];
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 9;
  long steps = argc > 2 ? atol(argv[2]) : 4000000;
  double best = 0;
  float sink = 0;
  run(steps / 8);
  for (int r = 0; r < runs; r++) {
    double t0 = now();
    sink += run(steps);
    double g = 56.0 * steps / ((now() - t0) * 1e9);
    if (g > best) best = g;
  }
  printf("{\"gflops\": %.3f, \"sink\": %g}\n", best, sink);
  return 0;
}
