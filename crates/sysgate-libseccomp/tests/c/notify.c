/* User notification through the C API: a child loads a filter that sends uname to its
 * listener, forks a grandchild that calls uname, receives the notification, checks it,
 * answers EXDEV, and the grandchild sees EXDEV. */
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include "check.h"

static int child(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(uname), 0) != 0)
		return 10;
	if (seccomp_load(ctx) != 0)
		return 11;
	int fd = seccomp_notify_fd(ctx);
	if (fd < 0)
		return 12;
	pid_t pid = fork();
	if (pid == 0) {
		struct utsname u;
		_exit(uname(&u) == -1 && errno == EXDEV ? 0 : 1);
	}
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	if (seccomp_notify_alloc(&req, &resp) != 0)
		return 13;
	if (seccomp_notify_receive(fd, req) != 0)
		return 14;
	if (req->data.nr != SCMP_SYS(uname) || req->data.arch != SCMP_ARCH_X86_64 ||
	    req->pid != (uint32_t)pid)
		return 15;
	if (seccomp_notify_id_valid(fd, req->id) != 0)
		return 16;
	resp->id = req->id;
	resp->val = 0;
	resp->error = -EXDEV;
	resp->flags = 0;
	if (seccomp_notify_respond(fd, resp) != 0)
		return 17;
	if (seccomp_notify_id_valid(fd, req->id) != -ENOENT)
		return 18;
	seccomp_notify_free(req, resp);
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 19;
	/* One listener per process: a second NOTIFY filter gets none, the fd stays. */
	scmp_filter_ctx again = seccomp_init(SCMP_ACT_ALLOW);
	seccomp_rule_add(again, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0);
	if (seccomp_load(again) != 0)
		return 20;
	if (seccomp_notify_fd(again) != fd)
		return 21;
	return 0;
}

int main(void)
{
	print_library();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(child());
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status), 0);
	return check_done();
}
