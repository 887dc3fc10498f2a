/* The generated header's architecture tokens are the ones the library resolves. */
#include "check.h"

int main(void)
{
	print_library();
	CHECK(SCMP_ARCH_X86, seccomp_arch_resolve_name("x86"));
	CHECK(SCMP_ARCH_X86_64, seccomp_arch_resolve_name("x86_64"));
	CHECK(SCMP_ARCH_X32, seccomp_arch_resolve_name("x32"));
	CHECK(SCMP_ARCH_ARM, seccomp_arch_resolve_name("arm"));
	CHECK(SCMP_ARCH_AARCH64, seccomp_arch_resolve_name("aarch64"));
	CHECK(SCMP_ARCH_LOONGARCH64, seccomp_arch_resolve_name("loongarch64"));
	CHECK(SCMP_ARCH_M68K, seccomp_arch_resolve_name("m68k"));
	CHECK(SCMP_ARCH_MIPS, seccomp_arch_resolve_name("mips"));
	CHECK(SCMP_ARCH_MIPS64, seccomp_arch_resolve_name("mips64"));
	CHECK(SCMP_ARCH_MIPS64N32, seccomp_arch_resolve_name("mips64n32"));
	CHECK(SCMP_ARCH_MIPSEL, seccomp_arch_resolve_name("mipsel"));
	CHECK(SCMP_ARCH_MIPSEL64, seccomp_arch_resolve_name("mipsel64"));
	CHECK(SCMP_ARCH_MIPSEL64N32, seccomp_arch_resolve_name("mipsel64n32"));
	CHECK(SCMP_ARCH_PPC, seccomp_arch_resolve_name("ppc"));
	CHECK(SCMP_ARCH_PPC64, seccomp_arch_resolve_name("ppc64"));
	CHECK(SCMP_ARCH_PPC64LE, seccomp_arch_resolve_name("ppc64le"));
	CHECK(SCMP_ARCH_S390, seccomp_arch_resolve_name("s390"));
	CHECK(SCMP_ARCH_S390X, seccomp_arch_resolve_name("s390x"));
	CHECK(SCMP_ARCH_PARISC, seccomp_arch_resolve_name("parisc"));
	CHECK(SCMP_ARCH_PARISC64, seccomp_arch_resolve_name("parisc64"));
	CHECK(SCMP_ARCH_RISCV64, seccomp_arch_resolve_name("riscv64"));
	CHECK(SCMP_ARCH_SH, seccomp_arch_resolve_name("sh"));
	CHECK(SCMP_ARCH_SHEB, seccomp_arch_resolve_name("sheb"));
	/* SCMP_SYS: the native number, or the pseudo number of a name x86_64 lacks. */
	CHECK(SCMP_SYS(read), seccomp_syscall_resolve_name("read"));
	CHECK(SCMP_SYS(socket), seccomp_syscall_resolve_name("socket"));
	CHECK(SCMP_SYS(socketcall), seccomp_syscall_resolve_name("socketcall"));
	/* Newer than the kernel headers, perhaps: then undefined (-2), never a wrong number. */
	CHECK(SCMP_SYS(mseal) == seccomp_syscall_resolve_name("mseal") ||
	      SCMP_SYS(mseal) == __NR_SCMP_UNDEF, 1);
	struct scmp_arg_cmp c = SCMP_A1_32(SCMP_CMP_MASKED_EQ, 0xffffffff00000001ULL, 1);
	CHECK(c.arg == 1 && c.op == SCMP_CMP_MASKED_EQ && c.datum_a == 1 && c.datum_b == 1, 1);
	return check_done();
}
