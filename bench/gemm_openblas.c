// gemm_openblas times cblas_sgemm on the shapes of troupe's SGEMM benchmark
// and prints one JSON line per shape, for side-by-side comparison with the
// Go kernels (see gemm.sh). Each shape is timed best-of-reps, each rep
// running the product enough times to last about 0.1 s.
//
// Usage: gemm_openblas THREADS [REPS] < shapes
// where each input line is "name transA transB m n k".
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *randvec(size_t n) {
	float *x = malloc(n * sizeof *x);
	for (size_t i = 0; i < n; i++) {
		x[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
	}
	return x;
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s THREADS [REPS] < shapes\n", argv[0]);
		return 2;
	}
	int threads = atoi(argv[1]);
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	openblas_set_num_threads(threads);
	char name[128];
	int ta, tb, m, n, k;
	while (scanf("%127s %d %d %d %d %d", name, &ta, &tb, &m, &n, &k) == 6) {
		int lda = ta ? m : k, ldb = tb ? k : n;
		float *a = randvec((size_t)m * k), *b = randvec((size_t)k * n), *c = randvec((size_t)m * n);
		double flop = 2.0 * m * n * k;
		// Calibrate the inner count so one rep lasts about 0.1 s.
		long iters = 1;
		for (;;) {
			double t0 = now();
			for (long i = 0; i < iters; i++) {
				cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
				            m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
			}
			if (now() - t0 > 0.05) break;
			iters *= 2;
		}
		double best = 0, worst = 1e30;
		for (int r = 0; r < reps; r++) {
			double t0 = now();
			for (long i = 0; i < iters; i++) {
				cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
				            m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
			}
			double g = flop * iters / (now() - t0) / 1e9;
			if (g > best) best = g;
			if (g < worst) worst = g;
		}
		printf("{\"bench\":\"gemm\",\"impl\":\"openblas\",\"name\":\"%s\",\"transA\":%s,\"transB\":%s,"
		       "\"m\":%d,\"n\":%d,\"k\":%d,\"threads\":%d,\"gflops\":%.1f,\"worst_gflops\":%.1f}\n",
		       name, ta ? "true" : "false", tb ? "true" : "false", m, n, k, threads, best, worst);
		fflush(stdout);
		free(a); free(b); free(c);
	}
	return 0;
}
