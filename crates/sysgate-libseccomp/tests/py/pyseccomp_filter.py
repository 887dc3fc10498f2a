"""pyseccomp (ctypes bindings for libseccomp) on whichever libseccomp.so.2 the loader finds:
build a filter, export it as BPF and as text, load it in a forked child and report what the
kernel did. Prints `lib: PATH` (the libseccomp mapped into this process) first."""
import errno
import os
import sys

import pyseccomp as seccomp

bpf_path, pfc_path = sys.argv[1], sys.argv[2]
with open("/proc/self/maps") as maps:
    lib = next(line.split()[-1] for line in maps if "libseccomp" in line)
print("lib:", lib, flush=True)

f = seccomp.SyscallFilter(seccomp.ALLOW)
f.add_rule(seccomp.ERRNO(errno.EPERM), "uname")
f.add_rule(seccomp.ERRNO(errno.EXDEV), "getpriority", seccomp.Arg(0, seccomp.EQ, 7))
with open(bpf_path, "wb") as out:
    f.export_bpf(out)
with open(pfc_path, "w") as out:
    f.export_pfc(out)

pid = os.fork()
if pid == 0:
    f.load()
    try:
        os.uname()
        os._exit(10)
    except OSError as e:
        if e.errno != errno.EPERM:
            os._exit(11)
    try:
        os.getpriority(7, 0)
        os._exit(12)
    except OSError as e:
        if e.errno != errno.EXDEV:
            os._exit(13)
    os.getpriority(os.PRIO_PROCESS, 0)  # another which: allowed
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("child:", os.waitstatus_to_exitcode(status), flush=True)
