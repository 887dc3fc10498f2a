//! What the kernel does with a filter's return value, and how it combines stacked filters.
//!
//! This file owns "same action": two return values are the same when the kernel does the
//! same thing with them (`__seccomp_filter` in kernel/seccomp.c). The action is the high 16
//! bits; an ERRNO's data is capped at 4095 (`MAX_ERRNO`); TRAP and TRACE pass their data on;
//! ALLOW, LOG and USER_NOTIF ignore theirs; the kill actions pass their data to the SIGSYS
//! they raise; any other action value kills the process like KILL_PROCESS. Stacked filters
//! all run and the smallest action wins, compared as signed 32-bit values with the data
//! masked off; on a tie the newest filter's value stands (`seccomp_run_filters`).

use biodivine_lib_bdd::Bdd;

use super::bits::{eq, ult, Bounded, Space, Word};
use super::program::Outcomes;
use crate::bpf::ret;

/// The return value the kernel treats `value` as (see the module docs).
pub(crate) fn kernel_meaning(value: u32) -> u32 {
    let data = value & ret::DATA;
    match value & ret::ACTION_FULL {
        ret::ERRNO => ret::ERRNO | data.min(u32::from(crate::bpf::MAX_ERRNO)),
        ret::TRAP | ret::TRACE => value,
        action @ (ret::USER_NOTIF | ret::LOG | ret::ALLOW) => action,
        ret::KILL_THREAD => data,
        _ => ret::KILL_PROCESS | data,
    }
}

/// [`kernel_meaning`] of a computed value, bit by bit.
fn kernel_meaning_word(space: &Space, v: &Word) -> Word {
    let action = |a: u32| -> Bdd { eq(space, &v.bits[16..], &space.constant(a).bits[16..]) };
    let data_only = Word {
        bits: (0..32)
            .map(|i| if i < 16 { v.bits[i].clone() } else { space.f() })
            .collect(),
        input: None,
    };
    let errno_big = v.bits[12..16].iter().fold(space.f(), |acc, b| acc.or_b(b));
    let errno = Word::select(
        &errno_big,
        &space.constant(ret::ERRNO | u32::from(crate::bpf::MAX_ERRNO)),
        &data_only.zip(&space.constant(ret::ERRNO), |a, b| a.or_b(b)),
    );
    let killed = data_only.zip(&space.constant(ret::KILL_PROCESS), |a, b| a.or_b(b));
    let mut out = killed;
    for (a, meaning) in [
        (ret::ERRNO, errno),
        (ret::TRAP, v.clone()),
        (ret::TRACE, v.clone()),
        (ret::USER_NOTIF, space.constant(ret::USER_NOTIF)),
        (ret::LOG, space.constant(ret::LOG)),
        (ret::ALLOW, space.constant(ret::ALLOW)),
        (ret::KILL_THREAD, data_only.clone()),
    ] {
        out = Word::select(&action(a >> 16 << 16), &meaning, &out);
    }
    out
}

/// Every return value replaced by what the kernel makes of it.
pub(crate) fn meanings(space: &Space, raw: &Outcomes) -> Outcomes {
    let mut out = Outcomes {
        constants: Default::default(),
        computed: Vec::new(),
    };
    for (&k, reach) in &raw.constants {
        add_const(space, &mut out, kernel_meaning(k), reach);
    }
    for (reach, w) in &raw.computed {
        let m = kernel_meaning_word(space, w);
        match m.as_const() {
            Some(k) => add_const(space, &mut out, k, reach),
            None => out.computed.push((reach.clone(), m)),
        }
    }
    out
}

fn add_const(space: &Space, out: &mut Outcomes, k: u32, reach: &Bdd) {
    let entry = out.constants.entry(k).or_insert_with(|| space.f());
    *entry = entry.or_b(reach);
}

/// The inputs for which `outcomes` gives exactly `value`.
pub(crate) fn inputs_giving(space: &Space, outcomes: &Outcomes, value: u32) -> Bdd {
    let mut set = outcomes
        .constants
        .get(&value)
        .cloned()
        .unwrap_or_else(|| space.f());
    let k = space.constant(value);
    for (reach, w) in &outcomes.computed {
        set = set.or_b(&reach.and_b(&eq(space, &w.bits, &k.bits)));
    }
    set
}

/// The kernel's combination of two stacked filters' raw return values.
pub(crate) fn stack(space: &Space, newer: &Outcomes, older: &Outcomes) -> Outcomes {
    let entries = |o: &Outcomes| -> Vec<(Bdd, Word)> {
        o.constants
            .iter()
            .map(|(k, r)| (r.clone(), space.constant(*k)))
            .chain(o.computed.iter().cloned())
            .collect()
    };
    let mut out = Outcomes {
        constants: Default::default(),
        computed: Vec::new(),
    };
    for (rn, wn) in entries(newer) {
        for (ro, wo) in entries(older) {
            let both = rn.and_b(&ro);
            if both.is_false() {
                continue;
            }
            if let (Some(kn), Some(ko)) = (wn.as_const(), wo.as_const()) {
                let action = |v: u32| (v & ret::ACTION_FULL) as i32;
                let k = if action(ko) < action(kn) { ko } else { kn };
                add_const(space, &mut out, k, &both);
                continue;
            }
            // Signed order on the action bits: flip the sign bit, compare unsigned.
            let signed = |w: &Word| -> Vec<Bdd> {
                let mut bits = w.bits[16..].to_vec();
                bits[15] = bits[15].not();
                bits
            };
            let older_wins = ult(space, &signed(&wo), &signed(&wn));
            out.computed
                .push((both, Word::select(&older_wins, &wo, &wn)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Endian;
    use crate::bpf::{data, SeccompData};

    #[test]
    fn meaning_follows_the_kernel() {
        assert_eq!(kernel_meaning(0x0005_0001), 0x0005_0001);
        assert_eq!(kernel_meaning(0x0005_1000), 0x0005_0fff);
        assert_eq!(kernel_meaning(0x0005_ffff), 0x0005_0fff);
        assert_eq!(kernel_meaning(0x7fff_1234), 0x7fff_0000);
        assert_eq!(kernel_meaning(0x7ffc_0001), 0x7ffc_0000);
        assert_eq!(kernel_meaning(0x7fc0_0001), 0x7fc0_0000);
        assert_eq!(kernel_meaning(0x0003_0007), 0x0003_0007);
        assert_eq!(kernel_meaning(0x7ff0_0007), 0x7ff0_0007);
        assert_eq!(kernel_meaning(0x9000_0000), 0x8000_0000);
        assert_eq!(kernel_meaning(0x0001_0000), 0x8000_0000);
        assert_eq!(kernel_meaning(0x0000_0005), 0x0000_0005);
    }

    #[test]
    fn computed_meaning_agrees_with_the_constant_one() {
        let space = Space::new(Endian::Little);
        let w = space.input(data::NR);
        let m = kernel_meaning_word(&space, &w);
        for v in [
            0u32,
            5,
            0x0001_0000,
            0x0003_0007,
            0x0005_0001,
            0x0005_0fff,
            0x0005_1000,
            0x7fc0_0001,
            0x7ff0_0003,
            0x7ffc_0000,
            0x7fff_0001,
            0x8000_0002,
            0xffff_ffff,
        ] {
            let d = SeccompData {
                nr: v,
                ..Default::default()
            };
            let at = space.input(data::NR);
            let point = eq(&space, &at.bits, &space.constant(d.nr).bits);
            let got = m.bits.iter().enumerate().fold(0u32, |acc, (i, b)| {
                acc | (u32::from(!b.and(&point).is_false()) << i)
            });
            assert_eq!(got, kernel_meaning(v), "{v:#x}");
        }
    }
}
