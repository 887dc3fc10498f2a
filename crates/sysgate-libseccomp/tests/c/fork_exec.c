/* Seed example 3: a parent whose filter allows clone forks and execs a child and reports the
 * child's fate. The child inherits the filter, so the program it execs is killed at its
 * first call the filter does not allow; the parent, whose own calls are allowed, reports it
 * and exits normally. */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "check.h"

int main(int argc, char **argv)
{
	print_library();
	fflush(stdout);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL);
	if (!ctx)
		return 2;
	const int allowed[] = {
		SCMP_SYS(clone), SCMP_SYS(execve), SCMP_SYS(wait4), SCMP_SYS(write),
		SCMP_SYS(exit_group), SCMP_SYS(exit), SCMP_SYS(set_robust_list),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(gettid), SCMP_SYS(getpid),
	};
	for (unsigned i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0), 0);
	if (check_failures)
		return 2;
	if (seccomp_load(ctx) != 0)
		return 3;
	pid_t pid = fork();
	if (pid < 0)
		return 4;
	if (pid == 0) {
		char *args[] = { argc > 1 ? argv[1] : "/bin/true", NULL };
		execve(args[0], args, NULL);
		syscall(SYS_exit_group, 127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return 5;
	char line[64];
	int len;
	if (WIFSIGNALED(status))
		len = snprintf(line, sizeof line, "child killed by signal %d\n", WTERMSIG(status));
	else
		len = snprintf(line, sizeof line, "child exited %d\n", WEXITSTATUS(status));
	write(1, line, len);
	syscall(SYS_exit_group, 0);
	return 0;
}
