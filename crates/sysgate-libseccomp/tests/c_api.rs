//! Every C API function's return codes and effects, checked by C programs compiled with gcc.
//! Programs that check only what libseccomp documents run with both Debian's libseccomp
//! 2.5.4 and this library: the expectations are libseccomp's, and this library meets them.

mod support;

use support::{compile, toolchain_present, Lib};

#[test]
fn return_codes_match_libseccomp() {
    if !toolchain_present() {
        return;
    }
    let p = compile("api_codes", None);
    for lib in [Lib::System, Lib::Sysgate] {
        let run = p.run(lib, &[], b"");
        run.assert_library();
        run.assert_ok();
    }
}

#[test]
fn variadic_rules_equal_array_rules_for_0_to_6_comparisons() {
    if !toolchain_present() {
        return;
    }
    let p = compile("variadic", None);
    for lib in [Lib::System, Lib::Sysgate] {
        let run = p.run(lib, &[], b"");
        run.assert_library();
        run.assert_ok();
    }
}

#[test]
fn user_notification_round_trip() {
    if !toolchain_present() {
        return;
    }
    let p = compile("notify", None);
    for lib in [Lib::System, Lib::Sysgate] {
        let run = p.run(lib, &[], b"");
        run.assert_library();
        run.assert_ok();
    }
}

/// libseccomp's `43-sim-a2_order` case on the real kernel: overlapping `<`/`>` bounds on one
/// argument decide in libseccomp's rule-tree order with both libraries.
#[test]
fn overlapping_bounds_decide_in_libseccomps_order_on_the_kernel() {
    if !toolchain_present() {
        return;
    }
    let p = compile("a2_order", None);
    for lib in [Lib::System, Lib::Sysgate] {
        let run = p.run(lib, &[], b"");
        run.assert_library();
        run.assert_ok();
    }
}

/// The notification calls hand the caller's struct to the kernel in one ioctl, as libseccomp
/// does: NULL structs, a signal during `seccomp_notify_receive` (which once waited on), and
/// responses the kernel refuses (CONTINUE with an errno, which once ran the call) give
/// `-ECANCELED`; a positive "errno" is the call's return value. A default action of
/// `SCMP_ACT_NOTIFY` gets a listener (it once got none: no fd, and every call `ENOSYS`).
#[test]
fn notification_calls_give_the_kernels_answer_to_the_callers_struct() {
    if !toolchain_present() {
        return;
    }
    let p = compile("notify_edges", None);
    for lib in [Lib::System, Lib::Sysgate] {
        let run = p.run(lib, &[], b"");
        run.assert_library();
        run.assert_ok();
    }
}

/// A thousand rules on one syscall, built and exported in a thread with a 128 KiB stack:
/// the rule tree's walk once recursed once per rule and overflowed it (SIGSEGV).
#[test]
fn a_thousand_rules_on_one_syscall_fit_a_small_thread_stack() {
    if !toolchain_present() {
        return;
    }
    let p = compile("many_rules", None);
    for lib in [Lib::System, Lib::Sysgate] {
        let run = p.run(lib, &[], b"");
        run.assert_library();
        run.assert_ok();
    }
}
