/* Builds a filter through libseccomp's C API from a rules file and exports it, ROUNDS
 * times, timing each build + export. Used by benches/c_api_vs_libseccomp.rs with Debian's
 * libseccomp and with sysgate's.
 *
 * usage: build_filter RULES OUT.bpf ROUNDS
 * RULES lines: "default ACTION", "arch TOKEN", "rule ACTION NAME N [ARG OP A B]..." (numbers
 * in any base strtoull reads). Prints "rounds R min_ns M median_ns D failed F". */
#define _GNU_SOURCE
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

struct rule {
	uint32_t action;
	char name[64];
	unsigned n;
	struct scmp_arg_cmp args[6];
};

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	FILE *in = fopen(argv[1], "r");
	if (!in)
		return 2;
	uint32_t def = 0, arches[8];
	unsigned narch = 0, nrules = 0;
	static struct rule rules[4096];
	char word[64];
	while (fscanf(in, "%63s", word) == 1) {
		if (!strcmp(word, "default")) {
			if (fscanf(in, "%i", (int *)&def) != 1)
				return 2;
		} else if (!strcmp(word, "arch")) {
			if (narch == 8 || fscanf(in, "%i", (int *)&arches[narch++]) != 1)
				return 2;
		} else if (!strcmp(word, "rule")) {
			struct rule *r = &rules[nrules++];
			if (fscanf(in, "%i %63s %u", (int *)&r->action, r->name, &r->n) != 3 || r->n > 6)
				return 2;
			for (unsigned i = 0; i < r->n; i++) {
				unsigned long long a, b;
				if (fscanf(in, "%u %u %llu %llu", &r->args[i].arg,
					   (unsigned *)&r->args[i].op, &a, &b) != 4)
					return 2;
				r->args[i].datum_a = a;
				r->args[i].datum_b = b;
			}
		} else {
			return 2;
		}
	}
	int rounds = atoi(argv[3]);
	long *ns = calloc(rounds, sizeof *ns);
	int failed = 0;
	for (int round = 0; round < rounds; round++) {
		int fd = memfd_create("bpf", 0);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		scmp_filter_ctx ctx = seccomp_init(def);
		for (unsigned i = 0; i < narch; i++)
			seccomp_arch_add(ctx, arches[i]);
		failed = 0;
		for (unsigned i = 0; i < nrules; i++) {
			int nr = seccomp_syscall_resolve_name(rules[i].name);
			int rc = seccomp_rule_add_array(ctx, rules[i].action, nr, rules[i].n,
							rules[i].args);
			if (rc != 0) {
				failed++;
				if (round == 0 && getenv("BUILD_FILTER_VERBOSE"))
					fprintf(stderr, "%s: %d\n", rules[i].name, rc);
			}
		}
		int rc = seccomp_export_bpf(ctx, fd);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		seccomp_release(ctx);
		if (rc != 0)
			return 3;
		ns[round] = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
		if (round == rounds - 1) {
			FILE *out = fopen(argv[2], "wb");
			char buf[65536];
			lseek(fd, 0, SEEK_SET);
			ssize_t n;
			while ((n = read(fd, buf, sizeof buf)) > 0)
				fwrite(buf, 1, n, out);
			fclose(out);
		}
		close(fd);
	}
	qsort(ns, rounds, sizeof *ns, cmp_long);
	printf("rounds %d min_ns %ld median_ns %ld failed %d\n", rounds, ns[0], ns[rounds / 2],
	       failed);
	return 0;
}
