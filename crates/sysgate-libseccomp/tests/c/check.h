/* Test helpers for the C API tests: CHECK compares a return code with what libseccomp's
 * documentation (and libseccomp 2.5.4 itself) gives, and names the line that differs.
 * Every test prints the shared object that provides seccomp_init, so the Rust harness can
 * tell that the library under test was the one loaded. */

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <seccomp.h>

static int check_failures;

#define CHECK(expr, want)                                                              \
	do {                                                                           \
		long _got = (long)(expr);                                              \
		long _want = (long)(want);                                             \
		if (_got != _want) {                                                   \
			fprintf(stderr, "%s:%d: %s = %ld, want %ld\n", __FILE__,       \
				__LINE__, #expr, _got, _want);                         \
			check_failures++;                                              \
		}                                                                      \
	} while (0)

/* Print which library provides the API ("lib: /path"), for the harness. */
static void print_library(void)
{
	Dl_info info;
	if (dladdr((void *)seccomp_init, &info) && info.dli_fname)
		printf("lib: %s\n", info.dli_fname);
}

__attribute__((unused)) static int check_done(void)
{
	if (check_failures) {
		fprintf(stderr, "%d check(s) failed\n", check_failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
