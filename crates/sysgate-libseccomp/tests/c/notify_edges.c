/* The notification calls with what a careless or hostile supervisor passes: libseccomp hands
 * the caller's struct to the kernel in one ioctl, so the kernel's answer is the answer.
 * - NULL structs: the kernel faults, -ECANCELED (not a crash, not another code).
 * - A signal during seccomp_notify_receive: the ioctl fails with EINTR, -ECANCELED; the
 *   call returns to the caller (a supervisor's signal handler can stop it) instead of
 *   waiting on.
 * - A response the kernel refuses (CONTINUE with an errno, unknown flags): -ECANCELED, and
 *   the notification stays pending, its call not run.
 * - A response the kernel takes as it is (a positive "errno"): the call returns it.
 * - SCMP_ACT_NOTIFY as the default action: the filter gets a listener as when a rule
 *   notifies, and the calls no rule allows reach the supervisor. */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include "check.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	/* A receive that keeps waiting after the signal never returns: give up after five. */
	if (++alarms >= 5)
		_exit(99);
	alarm(1);
}

/* A grandchild that calls uname and exits 0 if it fails with `err`, or (err == 0) returns
 * `ret`, else 1. */
static pid_t uname_caller(int err, int ret)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct utsname u;
		long rc = syscall(SYS_uname, &u);
		if (err)
			_exit(rc == -1 && errno == err ? 0 : 1);
		_exit(rc == ret ? 0 : 1);
	}
	return pid;
}

static int exited_zero(pid_t pid)
{
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

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
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	if (seccomp_notify_alloc(&req, &resp) != 0)
		return 13;

	if (seccomp_notify_receive(fd, NULL) != -ECANCELED)
		return 20;
	if (seccomp_notify_respond(fd, NULL) != -ECANCELED)
		return 21;

	/* Nothing pending: a signal (no SA_RESTART) ends the wait. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	int rc = seccomp_notify_receive(fd, req);
	alarm(0);
	if (rc != -ECANCELED || alarms != 1)
		return 22;

	pid_t pid = uname_caller(EXDEV, 0);
	memset(req, 0, sizeof *req);
	if (seccomp_notify_receive(fd, req) != 0)
		return 30;
	memset(resp, 0, sizeof *resp);
	resp->id = req->id;
	/* CONTINUE with an errno: the kernel refuses; the call is neither run nor answered. */
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	resp->error = -EPERM;
	if (seccomp_notify_respond(fd, resp) != -ECANCELED)
		return 31;
	/* A flag the kernel does not know: refused too. */
	resp->flags = 2;
	resp->error = -EPERM;
	if (seccomp_notify_respond(fd, resp) != -ECANCELED)
		return 32;
	if (seccomp_notify_id_valid(fd, req->id) != 0)
		return 33;
	resp->flags = 0;
	resp->error = -EXDEV;
	if (seccomp_notify_respond(fd, resp) != 0)
		return 34;
	if (!exited_zero(pid))
		return 35;

	/* The kernel returns a positive error as the call's value. */
	pid = uname_caller(0, 5);
	memset(req, 0, sizeof *req);
	if (seccomp_notify_receive(fd, req) != 0)
		return 40;
	memset(resp, 0, sizeof *resp);
	resp->id = req->id;
	resp->error = 5;
	if (seccomp_notify_respond(fd, resp) != 0)
		return 41;
	if (!exited_zero(pid))
		return 42;
	seccomp_notify_free(req, resp);
	return 0;
}

/* Default NOTIFY, every other syscall allowed: getppid reaches the listener. */
static int notify_by_default(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
	for (int nr = 0; nr < 512; nr++)
		if (nr != SCMP_SYS(getppid))
			seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	if (seccomp_load(ctx) != 0)
		return 50;
	int fd = seccomp_notify_fd(ctx);
	if (fd < 0)
		return 51;
	pid_t pid = fork();
	if (pid == 0)
		_exit(syscall(SYS_getppid) == 42 ? 0 : 1);
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	if (seccomp_notify_alloc(&req, &resp) != 0)
		return 52;
	if (seccomp_notify_receive(fd, req) != 0 || req->data.nr != SCMP_SYS(getppid))
		return 53;
	resp->id = req->id;
	resp->val = 42;
	if (seccomp_notify_respond(fd, resp) != 0)
		return 54;
	if (!exited_zero(pid))
		return 55;
	seccomp_notify_free(req, resp);
	return 0;
}

static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

int main(void)
{
	print_library();
	fflush(stdout);
	CHECK(in_child(child), 0);
	CHECK(in_child(notify_by_default), 0);
	return check_done();
}
