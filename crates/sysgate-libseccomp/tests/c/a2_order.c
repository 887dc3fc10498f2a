/* Overlapping conditional rules on one syscall, decided in libseccomp's order, by the real
 * kernel: the rules and expectations of libseccomp's regression test 43-sim-a2_order
 * (facts from its tests/43-sim-a2_order.tests; the program is ours). read gets `a2 <= 64`
 * ALLOW and `a2 > 128` .. `a2 > 16384` ERRNO(5) .. ERRNO(12); write gets `a2 >= 32768` ALLOW
 * and `a2 < 128` .. `a2 < 16384` ERRNO(5) .. ERRNO(12); the default kills. Where several
 * rules match, the tree tests the largest `>` bound (the smallest `<` bound) first: a read
 * of 16385 bytes gets ERRNO(12), not the most restrictive ERRNO(5). Each call runs in a
 * child that loads the filter; the parent reads the child's fate. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define KILLED (-1)

static char buf[65536];

static void add_rules(scmp_filter_ctx ctx)
{
	static const unsigned sizes[] = { 128, 256, 512, 1024, 2048, 4096, 8192, 16384 };
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
			       SCMP_A2(SCMP_CMP_LE, 64)), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
			       SCMP_A2(SCMP_CMP_GE, 32768)), 0);
	for (unsigned i = 0; i < 8; i++) {
		CHECK(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(5 + i), SCMP_SYS(read), 1,
				       SCMP_A2(SCMP_CMP_GT, sizes[i])), 0);
		CHECK(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(5 + i), SCMP_SYS(write), 1,
				       SCMP_A2(SCMP_CMP_LT, sizes[i])), 0);
	}
}

/* The fate of one call under the filter: 0 allowed, an errno, or KILLED. */
static int fate(int is_write, size_t size)
{
	int fd = open("/dev/null", is_write ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return -2;
	pid_t pid = fork();
	if (pid == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL);
		add_rules(ctx);
		if (check_failures || seccomp_load(ctx) != 0)
			_exit(100);
		ssize_t n = is_write ? write(fd, buf, size) : read(fd, buf, size);
		_exit(n >= 0 ? 0 : errno);
	}
	close(fd);
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		return KILLED;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -3;
}

int main(void)
{
	print_library();
	static const struct { size_t size; int want; } reads[] = {
		{ 30, 0 }, { 64, 0 }, { 65, KILLED }, { 128, KILLED }, { 129, 5 }, { 256, 5 },
		{ 257, 6 }, { 512, 6 }, { 513, 7 }, { 1024, 7 }, { 1025, 8 }, { 2048, 8 },
		{ 2049, 9 }, { 4096, 9 }, { 4097, 10 }, { 8192, 10 }, { 8193, 11 },
		{ 16384, 11 }, { 16385, 12 },
	};
	static const struct { size_t size; int want; } writes[] = {
		{ 65, 5 }, { 128, 6 }, { 129, 6 }, { 256, 7 }, { 257, 7 }, { 512, 8 },
		{ 513, 8 }, { 1024, 9 }, { 1025, 9 }, { 2048, 10 }, { 2049, 10 }, { 4096, 11 },
		{ 4097, 11 }, { 8192, 12 }, { 8193, 12 }, { 16384, KILLED }, { 16385, KILLED },
		{ 32768, 0 },
	};
	for (unsigned i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		int got = fate(0, reads[i].size);
		if (got != reads[i].want) {
			fprintf(stderr, "read of %zu: %d, want %d\n", reads[i].size, got,
				reads[i].want);
			check_failures++;
		}
	}
	for (unsigned i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		int got = fate(1, writes[i].size);
		if (got != writes[i].want) {
			fprintf(stderr, "write of %zu: %d, want %d\n", writes[i].size, got,
				writes[i].want);
			check_failures++;
		}
	}
	return check_done();
}
