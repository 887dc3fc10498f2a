/* A thousand rules on one syscall (`read` with `a0 == 2i`, ERRNO for odd i), built and
 * exported in a thread with a 128 KiB stack, as a runtime's worker thread might: the
 * library must not need stack in proportion to the rules (sysgate's once walked a
 * syscall's rule tree recursively, one frame per rule, and overflowed its stack). The
 * exported program then decides each value as its rule says (checked in a child that
 * loads it). */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include "check.h"

#define RULES 1000

static scmp_filter_ctx ctx;

static void *build(void *arg)
{
	(void)arg;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	for (int i = 0; i < RULES; i++) {
		uint32_t act = i % 2 ? SCMP_ACT_ERRNO(EXDEV) : SCMP_ACT_ERRNO(EPERM);
		if (seccomp_rule_add(ctx, act, SCMP_SYS(read), 1,
				     SCMP_A0(SCMP_CMP_EQ, (uint64_t)(2 * i))) != 0)
			return (void *)1;
	}
	int fd = open("/dev/null", 1);
	long rc = seccomp_export_bpf(ctx, fd) != 0 ? 2 : seccomp_export_pfc(ctx, fd) != 0 ? 3 : 0;
	close(fd);
	return (void *)rc;
}

int main(void)
{
	print_library();
	fflush(stdout);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	pthread_t t;
	void *rc = (void *)-1;
	CHECK(pthread_create(&t, &attr, build, NULL), 0);
	CHECK(pthread_join(t, &rc), 0);
	CHECK((long)rc, 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (seccomp_load(ctx) != 0)
			_exit(10);
		/* fd 2i: EPERM for even i, EXDEV for odd; 2i + 1 and 2 * RULES: read as usual
		 * (EBADF on a closed fd). */
		const struct { int fd; int err; } want[] = {
			{ 0, EPERM }, { 2, EXDEV }, { 998, EXDEV }, { 1000, EPERM },
			{ 1998, EXDEV }, { 1001, EBADF }, { 2000, EBADF },
		};
		char c;
		for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
			if (syscall(SYS_read, want[i].fd, &c, 0) != -1 || errno != want[i].err)
				_exit(20 + i);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status), 0);
	seccomp_release(ctx);
	return check_done();
}
