/* Seed example 2: read is allowed only from stdin, into this buffer, at most BUF_SIZE bytes
 * (three argument conditions). "ok" reads within the rule and exits 0; "long" asks for
 * more than BUF_SIZE, "fd" reads another descriptor, "buf" another buffer: each is killed. */
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "check.h"

#define BUF_SIZE 256
static char buf[BUF_SIZE];
static char other[BUF_SIZE * 2];

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "ok";
	print_library();
	fflush(stdout);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL);
	if (!ctx)
		return 2;
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 3,
			       SCMP_A0(SCMP_CMP_EQ, STDIN_FILENO),
			       SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)buf),
			       SCMP_A2(SCMP_CMP_LE, BUF_SIZE)), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 0), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0), 0);
	if (check_failures)
		return 2;
	if (seccomp_load(ctx) != 0)
		return 3;
	ssize_t n;
	if (strcmp(mode, "long") == 0)
		n = read(STDIN_FILENO, other, BUF_SIZE + 1);
	else if (strcmp(mode, "fd") == 0)
		n = read(3, buf, BUF_SIZE);
	else if (strcmp(mode, "buf") == 0)
		n = read(STDIN_FILENO, other, BUF_SIZE);
	else
		n = read(STDIN_FILENO, buf, BUF_SIZE);
	char line[64];
	int len = snprintf(line, sizeof line, "read %zd\n", n);
	write(1, line, len);
	syscall(SYS_exit_group, 0);
	return 0;
}
