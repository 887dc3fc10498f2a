/* seccomp_rule_add and seccomp_rule_add_exact are variadic: the comparisons arrive as
 * `struct scmp_arg_cmp` values after arg_cnt. For 0 to 6 comparisons, a rule added through
 * the variadic call must be the rule added through the array call: the exported text of the
 * two filters is compared byte for byte. Calls come from frames of different depths and
 * alignments, so the comparisons sit at different stack addresses. */
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "check.h"

static struct scmp_arg_cmp cmps[6];

static char *export_text(scmp_filter_ctx ctx)
{
	int fd = memfd_create("pfc", 0);
	static char buf[1 << 16];
	if (fd < 0 || seccomp_export_pfc(ctx, fd) != 0)
		return NULL;
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return strdup(buf);
}

static int add_variadic(scmp_filter_ctx ctx, int exact, int sys, unsigned n)
{
	const struct scmp_arg_cmp *c = cmps;
	int (*add)(scmp_filter_ctx, uint32_t, int, unsigned int, ...) =
		exact ? seccomp_rule_add_exact : seccomp_rule_add;
	switch (n) {
	case 0: return add(ctx, SCMP_ACT_ERRNO(n + 1), sys, 0);
	case 1: return add(ctx, SCMP_ACT_ERRNO(n + 1), sys, 1, c[0]);
	case 2: return add(ctx, SCMP_ACT_ERRNO(n + 1), sys, 2, c[0], c[1]);
	case 3: return add(ctx, SCMP_ACT_ERRNO(n + 1), sys, 3, c[0], c[1], c[2]);
	case 4: return add(ctx, SCMP_ACT_ERRNO(n + 1), sys, 4, c[0], c[1], c[2], c[3]);
	case 5: return add(ctx, SCMP_ACT_ERRNO(n + 1), sys, 5, c[0], c[1], c[2], c[3], c[4]);
	default: return add(ctx, SCMP_ACT_ERRNO(n + 1), sys, 6, c[0], c[1], c[2], c[3], c[4], c[5]);
	}
}

/* Deeper frames with odd-sized locals move the argument area. */
static int nested(int depth, scmp_filter_ctx ctx, int exact, int sys, unsigned n)
{
	volatile char pad[8 * 3 + 5];
	pad[0] = (char)depth;
	if (depth > 0)
		return nested(depth - 1, ctx, exact, sys, n) + pad[0] - (char)depth;
	return add_variadic(ctx, exact, sys, n);
}

int main(void)
{
	print_library();
	const int ops[] = { SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ,
			    SCMP_CMP_GE, SCMP_CMP_MASKED_EQ };
	for (unsigned i = 0; i < 6; i++)
		cmps[i] = (struct scmp_arg_cmp){ i, ops[i], 0x1111111100000000ULL * (i + 1) + i + 7,
						 0xfedcba9876543210ULL >> i };
	for (int exact = 0; exact <= 1; exact++) {
		for (unsigned n = 0; n <= 6; n++) {
			for (int depth = 0; depth < 3; depth++) {
				scmp_filter_ctx a = seccomp_init(SCMP_ACT_ALLOW);
				scmp_filter_ctx b = seccomp_init(SCMP_ACT_ALLOW);
				int (*add_array)(scmp_filter_ctx, uint32_t, int, unsigned int,
						 const struct scmp_arg_cmp *) =
					exact ? seccomp_rule_add_exact_array : seccomp_rule_add_array;
				CHECK(add_array(a, SCMP_ACT_ERRNO(n + 1), SCMP_SYS(openat), n, cmps), 0);
				CHECK(nested(depth, b, exact, SCMP_SYS(openat), n), 0);
				char *ta = export_text(a), *tb = export_text(b);
				CHECK(ta != NULL && tb != NULL, 1);
				if (ta && tb && strcmp(ta, tb) != 0) {
					fprintf(stderr, "exact %d, %u comparisons, depth %d: array and "
						"variadic rules differ:\n%s\n---\n%s\n", exact, n, depth, ta, tb);
					check_failures++;
				}
				free(ta);
				free(tb);
				seccomp_release(a);
				seccomp_release(b);
			}
		}
	}
	/* More than six is refused before any comparison is read. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_KILL, SCMP_SYS(openat), 7, cmps[0], cmps[1],
			       cmps[2], cmps[3], cmps[4], cmps[5], cmps[0]), -EINVAL);
	seccomp_release(ctx);
	return check_done();
}
