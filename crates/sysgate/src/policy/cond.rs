//! Argument conditions: one comparison of a 64-bit syscall argument with a constant.

use std::fmt;

/// A comparison operator on a 64-bit argument. All comparisons are unsigned.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CmpOp {
    /// `arg != value`
    Ne,
    /// `arg < value`
    Lt,
    /// `arg <= value`
    Le,
    /// `arg == value`
    Eq,
    /// `arg >= value`
    Ge,
    /// `arg > value`
    Gt,
    /// `(arg & mask) == value`
    MaskedEq(u64),
}

impl CmpOp {
    /// Every operator, `MaskedEq` with a zero mask standing for any mask (for looking up
    /// names).
    pub const ALL: [CmpOp; 7] = [
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Eq,
        CmpOp::Ge,
        CmpOp::Gt,
        CmpOp::MaskedEq(0),
    ];

    /// Whether `arg` satisfies `arg <op> value`.
    pub const fn holds(self, arg: u64, value: u64) -> bool {
        match self {
            CmpOp::Ne => arg != value,
            CmpOp::Lt => arg < value,
            CmpOp::Le => arg <= value,
            CmpOp::Eq => arg == value,
            CmpOp::Ge => arg >= value,
            CmpOp::Gt => arg > value,
            CmpOp::MaskedEq(mask) => arg & mask == value,
        }
    }

    /// libseccomp's name (`SCMP_CMP_EQ`, ...).
    pub const fn scmp_name(self) -> &'static str {
        match self {
            CmpOp::Ne => "SCMP_CMP_NE",
            CmpOp::Lt => "SCMP_CMP_LT",
            CmpOp::Le => "SCMP_CMP_LE",
            CmpOp::Eq => "SCMP_CMP_EQ",
            CmpOp::Ge => "SCMP_CMP_GE",
            CmpOp::Gt => "SCMP_CMP_GT",
            CmpOp::MaskedEq(_) => "SCMP_CMP_MASKED_EQ",
        }
    }
}

/// One condition on a syscall argument: `a<arg> <op> value`, over the full 64-bit value.
///
/// On architectures whose arguments are 32-bit (see [`crate::Arch::args_are_64bit`]) the
/// argument's high word is zero, so e.g. `a0 == 0x1_0000_0000` never holds there.
///
/// ```
/// use sysgate::policy::{ArgCond, CmpOp};
///
/// let c = ArgCond::new(0, CmpOp::MaskedEq(0xff), 0x10)?;
/// assert!(c.holds(0x1234_5610));
/// assert!(!c.holds(0x11));
/// assert!(ArgCond::new(6, CmpOp::Eq, 0).is_err());
/// # Ok::<(), sysgate::policy::CondError>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArgCond {
    arg: u8,
    op: CmpOp,
    value: u64,
}

/// An argument condition that cannot exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CondError {
    /// Syscalls have six arguments, a0 to a5.
    #[error("argument index {0} is out of range: syscalls have arguments 0 to 5")]
    ArgIndex(u32),
}

impl ArgCond {
    /// A condition on argument `arg` (0..=5).
    pub fn new(arg: u32, op: CmpOp, value: u64) -> Result<ArgCond, CondError> {
        if arg > 5 {
            return Err(CondError::ArgIndex(arg));
        }
        Ok(ArgCond {
            arg: arg as u8,
            op,
            value,
        })
    }

    /// `SCMP_CMP_MASKED_EQ` with `mask` and `expected` as libseccomp reads it: it masks the
    /// expected value too (`datum &= mask`), so the condition is
    /// `(arg & mask) == (expected & mask)`, and a mask of 0 always holds. Returns the condition
    /// and the bits of `expected` that the mask drops (0 when none: then nothing was changed).
    ///
    /// Every format whose own tool is libseccomp (Docker/OCI/Podman through runc, LXC,
    /// Kubernetes) reads its masked conditions with this; its reader warns when bits were
    /// dropped.
    ///
    /// ```
    /// use sysgate::policy::{ArgCond, CmpOp};
    ///
    /// // {"value": 65280, "valueTwo": 1000, "op": "SCMP_CMP_MASKED_EQ"}: 1000 is 0x3e8.
    /// let (c, dropped) = ArgCond::masked_eq_like_libseccomp(1, 0xff00, 1000)?;
    /// assert_eq!(c, ArgCond::new(1, CmpOp::MaskedEq(0xff00), 0x300)?);
    /// assert_eq!(dropped, 0xe8);
    /// assert!(c.holds(0x3ff) && c.holds(0x300) && !c.holds(0x400));
    /// let (c, _) = ArgCond::masked_eq_like_libseccomp(0, 0, 7)?;
    /// assert!(c.holds(0) && c.holds(u64::MAX));
    /// # Ok::<(), sysgate::policy::CondError>(())
    /// ```
    pub fn masked_eq_like_libseccomp(
        arg: u32,
        mask: u64,
        expected: u64,
    ) -> Result<(ArgCond, u64), CondError> {
        let cond = ArgCond::new(arg, CmpOp::MaskedEq(mask), expected & mask)?;
        Ok((cond, expected & !mask))
    }

    /// The argument index, 0..=5.
    pub const fn arg(&self) -> usize {
        self.arg as usize
    }

    /// The operator.
    pub const fn op(&self) -> CmpOp {
        self.op
    }

    /// The constant compared with (for `MaskedEq`, the expected masked value).
    pub const fn value(&self) -> u64 {
        self.value
    }

    /// Whether an argument value satisfies the condition.
    pub const fn holds(&self, arg_value: u64) -> bool {
        self.op.holds(arg_value, self.value)
    }

    /// The constants this condition compares with, for boundary testing.
    pub fn constants(&self) -> impl Iterator<Item = u64> {
        let mask = match self.op {
            CmpOp::MaskedEq(m) => Some(m),
            _ => None,
        };
        std::iter::once(self.value).chain(mask)
    }
}

impl fmt::Display for ArgCond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.arg;
        let v = self.value;
        match self.op {
            CmpOp::Ne => write!(f, "a{a} != {v:#x}"),
            CmpOp::Lt => write!(f, "a{a} < {v:#x}"),
            CmpOp::Le => write!(f, "a{a} <= {v:#x}"),
            CmpOp::Eq => write!(f, "a{a} == {v:#x}"),
            CmpOp::Ge => write!(f, "a{a} >= {v:#x}"),
            CmpOp::Gt => write!(f, "a{a} > {v:#x}"),
            CmpOp::MaskedEq(m) => write!(f, "(a{a} & {m:#x}) == {v:#x}"),
        }
    }
}
