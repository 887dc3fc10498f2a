/* Seed example 1: default KILL, read/write/close allowed (plus the exit calls). Run with
 * "blocked" it makes a call the filter does not allow (getpid) and is killed; otherwise it
 * writes a line and exits normally. */
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "check.h"

int main(int argc, char **argv)
{
	print_library();
	fflush(stdout);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL);
	if (!ctx)
		return 2;
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 0), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 0), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close), 0), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit), 0), 0);
	if (check_failures)
		return 2;
	if (seccomp_load(ctx) != 0)
		return 3;
	seccomp_release(ctx);
	if (argc > 1 && strcmp(argv[1], "blocked") == 0)
		syscall(SYS_getpid);
	const char msg[] = "survived\n";
	write(1, msg, sizeof msg - 1);
	syscall(SYS_exit_group, 0);
	return 0;
}
