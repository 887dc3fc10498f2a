/* Return codes of every function, as libseccomp 2.5.4's manual pages list them. The
 * harness runs this program with Debian's libseccomp and with sysgate's: the expectations
 * hold for both, so they are libseccomp's behaviour and not sysgate's idea of it. */
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <pthread.h>
#include "check.h"

static void test_version_and_api(void)
{
	/* Debian's libseccomp is 2.5.4; sysgate's implements 2.6.0, which adds level 7. */
	const struct scmp_version *v = seccomp_version();
	int v26 = v->major == 2 && v->minor == 6 && v->micro == 0;
	CHECK((v->major == 2 && v->minor == 5 && v->micro == 4) || v26, 1);
	CHECK(seccomp_api_get() >= 5, 1);
	CHECK(seccomp_api_set(0), -EINVAL);
	CHECK(seccomp_api_set(7), v26 ? 0 : -EINVAL);
	CHECK(seccomp_api_set(8), -EINVAL);
	/* A lower level turns features off: NOTIFY below 5, LOG below 3, TSYNC below 2. */
	CHECK(seccomp_api_set(3), 0);
	CHECK(seccomp_api_get(), 3);
	CHECK(seccomp_notify_id_valid(-1, 1), -EOPNOTSUPP);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(read), 0), -EINVAL);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_LOG, SCMP_SYS(read), 0), 0);
	seccomp_release(ctx);
	CHECK(seccomp_api_set(2), 0);
	CHECK(seccomp_init(SCMP_ACT_LOG) == NULL, 1);
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1), -EOPNOTSUPP);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1), 0);
	seccomp_release(ctx);
	CHECK(seccomp_api_set(1), 0);
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1), -EOPNOTSUPP);
	seccomp_release(ctx);
	CHECK(seccomp_api_set(6), 0);
	/* A global reset keeps the level. */
	CHECK(seccomp_reset(NULL, 0), 0);
	CHECK(seccomp_api_get(), 6);
}

static void test_init(void)
{
	CHECK(seccomp_init(0x12340000) == NULL, 1);
	CHECK(seccomp_init(SCMP_ACT_TRAP | 1) == NULL, 1);
	CHECK(seccomp_init(SCMP_ACT_ERRNO(4095)) == NULL, 1);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(4094));
	CHECK(ctx != NULL, 1);
	CHECK(seccomp_reset(ctx, 0x12340000), -EINVAL);
	CHECK(seccomp_reset(ctx, SCMP_ACT_TRACE(7)), 0);
	uint32_t value = 0;
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_DEFAULT, &value), 0);
	CHECK(value, SCMP_ACT_TRACE(7));
	seccomp_release(ctx);
	seccomp_release(NULL);
}

static void test_arches(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	CHECK(seccomp_arch_native(), SCMP_ARCH_X86_64);
	CHECK(seccomp_arch_resolve_name("x86_64"), SCMP_ARCH_X86_64);
	CHECK(seccomp_arch_resolve_name("x32"), SCMP_ARCH_X32);
	CHECK(seccomp_arch_resolve_name("mipsel64n32"), SCMP_ARCH_MIPSEL64N32);
	CHECK(seccomp_arch_resolve_name("amd64"), 0);
	CHECK(seccomp_arch_resolve_name(NULL), 0);
	CHECK(seccomp_arch_exist(ctx, SCMP_ARCH_NATIVE), 0);
	CHECK(seccomp_arch_exist(ctx, SCMP_ARCH_X86_64), 0);
	CHECK(seccomp_arch_exist(ctx, SCMP_ARCH_X86), -EEXIST);
	CHECK(seccomp_arch_exist(ctx, 12345), -EINVAL);
	CHECK(seccomp_arch_add(ctx, SCMP_ARCH_X86), 0);
	CHECK(seccomp_arch_add(ctx, SCMP_ARCH_X86), -EEXIST);
	CHECK(seccomp_arch_add(ctx, 12345), -EINVAL);
	CHECK(seccomp_arch_add(ctx, SCMP_ARCH_PPC64), -EDOM);
	CHECK(seccomp_arch_remove(ctx, SCMP_ARCH_X86), 0);
	CHECK(seccomp_arch_remove(ctx, SCMP_ARCH_X86), -EEXIST);
	CHECK(seccomp_arch_remove(ctx, 12345), -EINVAL);
	CHECK(seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE), 0);
	/* A context without architectures is not valid. */
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_KILL, SCMP_SYS(read), 0), -EINVAL);
	CHECK(seccomp_load(ctx), -EINVAL);
	CHECK(seccomp_export_bpf(ctx, 1), -EINVAL);
	uint32_t value;
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_NNP, &value), -EINVAL);
	CHECK(seccomp_arch_add(ctx, SCMP_ARCH_AARCH64), 0);
	CHECK(seccomp_arch_exist(ctx, SCMP_ARCH_AARCH64), 0);
	seccomp_release(ctx);
}

static void test_attrs(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	uint32_t v;
	const struct { int attr; uint32_t want; } defaults[] = {
		{ SCMP_FLTATR_ACT_DEFAULT, SCMP_ACT_ALLOW },
		{ SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL },
		{ SCMP_FLTATR_CTL_NNP, 1 },
		{ SCMP_FLTATR_CTL_TSYNC, 0 },
		{ SCMP_FLTATR_API_TSKIP, 0 },
		{ SCMP_FLTATR_CTL_LOG, 0 },
		{ SCMP_FLTATR_CTL_SSB, 0 },
		{ SCMP_FLTATR_CTL_OPTIMIZE, 1 },
		{ SCMP_FLTATR_API_SYSRAWRC, 0 },
	};
	for (unsigned i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
		v = 0xdead;
		CHECK(seccomp_attr_get(ctx, defaults[i].attr, &v), 0);
		CHECK(v, defaults[i].want);
	}
	CHECK(seccomp_attr_get(ctx, 0, &v), -EINVAL);
	CHECK(seccomp_attr_get(ctx, 99, &v), -EINVAL);
	CHECK(seccomp_attr_get(NULL, SCMP_FLTATR_CTL_NNP, &v), -EINVAL);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_DEFAULT, SCMP_ACT_KILL), -EACCES);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, 0x12340000), -EINVAL);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), 0);
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_BADARCH, &v), 0);
	CHECK(v, SCMP_ACT_KILL_PROCESS);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 5), 0);
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_NNP, &v), 0);
	CHECK(v, 1);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1), 0);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1), 0);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1), 0);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_API_TSKIP, 1), 0);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1), 0);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), 0);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 0), -EOPNOTSUPP);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 3), -EOPNOTSUPP);
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_OPTIMIZE, &v), 0);
	CHECK(v, 2);
	CHECK(seccomp_attr_set(ctx, 99, 1), -EINVAL);
	CHECK(seccomp_attr_set(NULL, SCMP_FLTATR_CTL_NNP, 1), -EINVAL);
	seccomp_release(ctx);
}

static void test_rules(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL);
	struct scmp_arg_cmp two[2] = { SCMP_A0(SCMP_CMP_EQ, 1), SCMP_A0(SCMP_CMP_EQ, 2) };
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_KILL, SCMP_SYS(read), 0), -EACCES);
	CHECK(seccomp_rule_add(ctx, 0x12340000, SCMP_SYS(read), 0), -EINVAL);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, -5, 0), -EINVAL);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, -1, 0), -EINVAL);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 7), -EINVAL);
	CHECK(seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1, NULL), -EINVAL);
	CHECK(seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 2, two), -EINVAL);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
			       SCMP_CMP(6, SCMP_CMP_EQ, 1)), -EINVAL);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
			       SCMP_CMP(0, 8, 1)), -EINVAL);
	CHECK(seccomp_rule_add(NULL, SCMP_ACT_ALLOW, SCMP_SYS(read), 0), -EINVAL);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
			       SCMP_A0(SCMP_CMP_EQ, 1)), 0);
	/* The same chain again: a duplicate with the same action, a clash with another. */
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
			       SCMP_A0(SCMP_CMP_EQ, 1)), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(1), SCMP_SYS(read), 1,
			       SCMP_A0(SCMP_CMP_EQ, 1)), -EEXIST);
	/* Unconditional rules never clash: the first one decides. */
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 0), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(1), SCMP_SYS(write), 0), 0);
	/* A pseudo syscall x86_64 lacks: kept (never matching), refused when exact. */
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketcall), 0), 0);
	CHECK(seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketcall), 0), -EDOM);
	CHECK(seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close), 0), 0);
	CHECK(seccomp_syscall_priority(ctx, SCMP_SYS(read), 200), 0);
	CHECK(seccomp_syscall_priority(ctx, -5, 200), -EINVAL);
	CHECK(seccomp_syscall_priority(NULL, SCMP_SYS(read), 200), -EINVAL);
	/* Exact rules refuse a filter with several architectures. */
	CHECK(seccomp_arch_add(ctx, SCMP_ARCH_X86), 0);
	CHECK(seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close), 0), -EOPNOTSUPP);
	/* A priority's number is translated for every architecture: x86 has no x86_64 number
	 * 1000 (EFAULT); a pseudo number x86_64 lacks is skipped there, found on x86. */
	CHECK(seccomp_syscall_priority(ctx, 1000, 1), -EFAULT);
	CHECK(seccomp_syscall_priority(ctx, SCMP_SYS(socketcall), 1), 0);
	seccomp_release(ctx);

	/* Multiplexed calls on x86: an exact rule takes no argument conditions. */
	ctx = seccomp_init(SCMP_ACT_KILL);
	CHECK(seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE), 0);
	CHECK(seccomp_arch_add(ctx, SCMP_ARCH_X86), 0);
	/* Numbers are the native architecture's (x86_64), translated by name; x86's own
	 * pseudo number is not a native one. */
	CHECK(seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "socket"), -101);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, -101, 0), -EFAULT);
	CHECK(seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, 1)), -EINVAL);
	CHECK(seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 0), 0);
	seccomp_release(ctx);
}

static void test_resolve(void)
{
	CHECK(seccomp_syscall_resolve_name("read"), 0);
	CHECK(seccomp_syscall_resolve_name("nosuchcall"), __NR_SCMP_ERROR);
	CHECK(seccomp_syscall_resolve_name(NULL), __NR_SCMP_ERROR);
	CHECK(seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "read"), 3);
	CHECK(seccomp_syscall_resolve_name_arch(12345, "read"), __NR_SCMP_ERROR);
	CHECK(seccomp_syscall_resolve_name_rewrite(SCMP_ARCH_X86, "socket"), 102);
	CHECK(seccomp_syscall_resolve_name_rewrite(SCMP_ARCH_X86_64, "socket"), 41);
	CHECK(seccomp_syscall_resolve_name_arch(SCMP_ARCH_X32, "read"), 0x40000000);
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, 0);
	CHECK(name != NULL && strcmp(name, "read") == 0, 1);
	free(name);
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86, -101);
	CHECK(name != NULL && strcmp(name, "socket") == 0, 1);
	free(name);
	CHECK(seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, 99999) == NULL, 1);
	CHECK(seccomp_syscall_resolve_num_arch(12345, 0) == NULL, 1);
}

static void test_merge(void)
{
	scmp_filter_ctx a = seccomp_init(SCMP_ACT_KILL);
	scmp_filter_ctx b = seccomp_init(SCMP_ACT_ALLOW);
	CHECK(seccomp_merge(a, b), -EINVAL);
	seccomp_release(b);
	b = seccomp_init(SCMP_ACT_KILL);
	CHECK(seccomp_merge(a, b), -EEXIST);
	CHECK(seccomp_arch_remove(b, SCMP_ARCH_NATIVE), 0);
	CHECK(seccomp_arch_add(b, SCMP_ARCH_PPC64), 0);
	CHECK(seccomp_merge(a, b), -EDOM);
	CHECK(seccomp_arch_remove(b, SCMP_ARCH_PPC64), 0);
	CHECK(seccomp_arch_add(b, SCMP_ARCH_X86), 0);
	CHECK(seccomp_merge(a, NULL), -EINVAL);
	CHECK(seccomp_merge(NULL, a), -EINVAL);
	/* A filter merged into itself: every architecture is there already. */
	CHECK(seccomp_merge(a, a), -EEXIST);
	CHECK(seccomp_merge(a, b), 0); /* b is released */
	CHECK(seccomp_arch_exist(a, SCMP_ARCH_X86), 0);
	seccomp_release(a);
}

static void test_export_errors(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	CHECK(seccomp_export_bpf(NULL, 1), -EINVAL);
	CHECK(seccomp_export_pfc(NULL, 1), -EINVAL);
	CHECK(seccomp_export_bpf(ctx, -1), -ECANCELED);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1), 0);
	CHECK(seccomp_export_bpf(ctx, -1), -EBADF);
	CHECK(seccomp_load(NULL), -EINVAL);
	seccomp_release(ctx);
}

static void test_notify_codes(void)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	CHECK(seccomp_notify_alloc(&req, &resp), 0);
	CHECK(req != NULL && resp != NULL, 1);
	CHECK(req->id == 0 && resp->id == 0, 1);
	CHECK(seccomp_notify_fd(ctx), -EFAULT); /* no listener: libseccomp's -1 is filtered */
	CHECK(seccomp_notify_fd(NULL), -EINVAL);
	CHECK(seccomp_notify_id_valid(-1, 1), -ENOENT);
	CHECK(seccomp_notify_receive(-1, req), -ECANCELED);
	CHECK(seccomp_notify_respond(-1, resp), -ECANCELED);
	seccomp_notify_free(req, resp);
	seccomp_notify_free(NULL, NULL);
	seccomp_release(ctx);
}

/* seccomp_load in a child: uname fails with EPERM, getpid still works. */
static void test_load(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(uname), 0) != 0)
			_exit(10);
		if (seccomp_load(ctx) != 0)
			_exit(11);
		struct utsname u;
		if (uname(&u) != -1 || errno != EPERM)
			_exit(12);
		if (getpid() <= 0)
			_exit(13);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status), 0);
}

static void *uname_thread(void *arg)
{
	(void)arg;
	struct utsname u;
	long rc = uname(&u) == -1 ? errno : 0;
	return (void *)rc;
}

/* TSYNC: a thread started before the load is filtered too. */
static pthread_barrier_t barrier;
static void *waiting_uname_thread(void *arg)
{
	pthread_barrier_wait(&barrier);
	pthread_barrier_wait(&barrier);
	return uname_thread(arg);
}

static void test_tsync(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_barrier_init(&barrier, NULL, 2);
		pthread_create(&t, NULL, waiting_uname_thread, NULL);
		pthread_barrier_wait(&barrier);
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(uname), 0);
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
		if (seccomp_load(ctx) != 0)
			_exit(11);
		pthread_barrier_wait(&barrier);
		void *rc;
		pthread_join(t, &rc);
		_exit((long)rc == EPERM ? 0 : 12);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status), 0);
}

int main(void)
{
	print_library();
	test_init();
	test_notify_codes();
	test_arches();
	test_attrs();
	test_rules();
	test_resolve();
	test_merge();
	test_export_errors();
	test_load();
	test_tsync();
	test_version_and_api();
	return check_done();
}
