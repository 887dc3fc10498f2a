/* libseccomp 2.6's additions, compiled against sysgate's generated header: transactions,
 * seccomp_precompute, seccomp_export_bpf_mem, SCMP_FLTATR_CTL_WAITKILL and API level 7. */
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "check.h"

static size_t exported(scmp_filter_ctx ctx, void *buf, size_t cap)
{
	size_t len = cap;
	CHECK(seccomp_export_bpf_mem(ctx, buf, &len), 0);
	return len;
}

int main(void)
{
	print_library();
	const struct scmp_version *v = seccomp_version();
	CHECK(v->major == SCMP_VER_MAJOR && v->minor == SCMP_VER_MINOR &&
	      v->micro == SCMP_VER_MICRO, 1);
	CHECK(v->minor, 6);

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	CHECK(seccomp_precompute(ctx), 0);
	CHECK(seccomp_precompute(NULL), -EINVAL);

	/* Export to memory: the size, then the program, which equals export_bpf's. */
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(1), SCMP_SYS(uname), 0), 0);
	size_t len = 0;
	CHECK(seccomp_export_bpf_mem(ctx, NULL, &len), 0);
	CHECK(len > 0 && len % 8 == 0, 1);
	char small[8];
	size_t short_len = sizeof small;
	CHECK(seccomp_export_bpf_mem(ctx, small, &short_len), -ERANGE);
	CHECK(short_len, len);
	CHECK(seccomp_export_bpf_mem(ctx, NULL, NULL), -EINVAL);
	CHECK(seccomp_export_bpf_mem(NULL, NULL, &len), -EINVAL);
	char mem[1 << 16], file[1 << 16];
	CHECK(exported(ctx, mem, sizeof mem), len);
	int fd = memfd_create("bpf", 0);
	CHECK(seccomp_export_bpf(ctx, fd), 0);
	lseek(fd, 0, SEEK_SET);
	CHECK(read(fd, file, sizeof file), (long)len);
	close(fd);
	CHECK(memcmp(mem, file, len), 0);

	/* Transactions nest; reject returns to where the innermost one started. */
	CHECK(seccomp_transaction_start(NULL), -EINVAL);
	CHECK(seccomp_transaction_commit(NULL), -EINVAL);
	seccomp_transaction_reject(NULL);
	CHECK(seccomp_transaction_start(ctx), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(2), SCMP_SYS(getpid), 0), 0);
	CHECK(seccomp_transaction_start(ctx), 0);
	CHECK(seccomp_arch_add(ctx, SCMP_ARCH_X86), 0);
	seccomp_transaction_reject(ctx);
	CHECK(seccomp_arch_exist(ctx, SCMP_ARCH_X86), -EEXIST);
	CHECK(seccomp_transaction_commit(ctx), 0);
	size_t with_getpid = exported(ctx, mem, sizeof mem);
	CHECK(with_getpid > len, 1);
	CHECK(seccomp_transaction_start(ctx), 0);
	CHECK(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(3), SCMP_SYS(getppid), 0), 0);
	seccomp_transaction_reject(ctx);
	CHECK(exported(ctx, mem, sizeof mem), with_getpid);

	/* WAITKILL needs API level 7. */
	uint32_t value = 5;
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_WAITKILL, &value), 0);
	CHECK(value, 0);
	if (seccomp_api_get() >= 7) {
		CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_WAITKILL, 1), 0);
		CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_WAITKILL, &value), 0);
		CHECK(value, 1);
	}
	CHECK(seccomp_api_set(6), 0);
	CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_WAITKILL, 1), -EOPNOTSUPP);
	seccomp_release(ctx);
	return check_done();
}
