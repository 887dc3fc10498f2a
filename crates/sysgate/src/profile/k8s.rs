//! Kubernetes security-profiles-operator `SeccompProfile` objects (YAML) to and from a
//! [`Policy`].
//!
//! This module owns the YAML shape of the custom resource (`apiVersion`
//! `security-profiles-operator.x-k8s.io/v1` or `v1beta1`) and the operator's own limits; the
//! seccomp part is the OCI profile, which the operator hands to the runtime as JSON, so its
//! meaning is [`super::docker`]'s reading.
//!
//! # Reading
//!
//! A file may hold several documents (`---`); each `SeccompProfile` becomes one [`Named`];
//! other kinds are skipped with a warning. The `spec` is checked against the operator's schema
//! with YAML positions (`file:line:column`): `defaultAction` is required; `architectures` and
//! `flags` take the operator's enumerations; `errnoRet` and `index` are non-negative 32-bit
//! integers; `value` and `valueTwo` non-negative 64-bit **signed** integers (Kubernetes has no
//! unsigned type, so nothing above 9223372036854775807); at most six `args`; `names` not empty.
//! Plain integers read as `kubectl` reads them (go-yaml v2, YAML 1.1, Go's `ParseInt` base 0):
//! `0644` is octal 420, not YAML 1.2's decimal 644.
//! Then the spec is read as runc reads the JSON the operator writes.
//!
//! `baseProfileName` unions the base profile's `syscalls` into this one (recursively, at most 15
//! levels, as the operator does). The base is looked up by `metadata.name` in the same file,
//! then in [`ReadOptions::base`]: a file, or a directory of `.yaml`/`.yml` files. Remote
//! (`oci://`) base profiles are not fetched.
//!
//! # Writing
//!
//! [`write`](fn@write) emits the custom resource and, as comments, the pod `securityContext` that uses
//! it: the operator installs a profile as `operator/<namespace>/<name>.json` under the
//! kubelet's seccomp directory, which is what `localhostProfile` names. What the resource cannot
//! hold is given up on the restrictive side and listed: conditions with values above the
//! int64 limit, architectures and flags outside the operator's enumerations, and whatever the
//! OCI profile itself cannot hold ([`super::docker::write`]).
//!
//! ```
//! use sysgate::policy::Action;
//! use sysgate::profile::{k8s, Target};
//! use sysgate::Arch;
//!
//! let yaml = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n\
//!             metadata:\n  name: demo\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  \
//!             - action: SCMP_ACT_ALLOW\n    names: [read, write]\n";
//! let docs = k8s::read(yaml, "p.yaml", &Target::new(Arch::X86_64), &k8s::ReadOptions::default())?;
//! assert_eq!(docs[0].name.as_deref(), Some("demo"));
//! let policy = &docs[0].loaded.policy;
//! assert_eq!(policy.decide(Arch::X86_64, 0, &[0; 6]).action, Action::Allow);
//! assert_eq!(policy.rules()[0].origin.as_deref(), Some("p.yaml:8:5"));
//! # Ok::<(), k8s::K8sError>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::rc::Rc;

use saphyr::Scalar;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, SpannedEventReceiver};

use super::docker::{self, Dialect};
use super::write::{without_conditions_where, Loss, Written};
use super::{Listener, Loaded, Location, Named, Target};
use crate::arch::Arch;
use crate::policy::{Policy, Rule};

/// The operator's API group.
pub const API_GROUP: &str = "security-profiles-operator.x-k8s.io";

/// The largest argument value the resource can hold (`int64`).
pub const MAX_VALUE: u64 = i64::MAX as u64;

/// How deep `baseProfileName` may nest (the operator's limit).
const MAX_BASE_DEPTH: usize = 15;

/// The architectures the operator's schema allows.
const ARCHES: &[&str] = &[
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
];

/// The flags the operator's schema allows.
const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// Why a `SeccompProfile` cannot be read. Every variant names the location.
///
/// ```
/// use sysgate::profile::{k8s, Target};
/// use sysgate::Arch;
///
/// let yaml = "kind: SeccompProfile\napiVersion: security-profiles-operator.x-k8s.io/v1\n\
///             metadata: {name: x}\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  \
///             - action: SCMP_ACT_ALLOW\n    names: [read]\n    args: [{index: 0, value: -1, op: SCMP_CMP_EQ}]\n";
/// let err = k8s::read(yaml, "p.yaml", &Target::new(Arch::X86_64), &Default::default()).unwrap_err();
/// assert_eq!(err.location().to_string(), "p.yaml:9:30");
/// assert!(err.to_string().contains("expected an integer from 0 to 9223372036854775807"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum K8sError {
    /// Not YAML.
    #[error("{at}: not valid YAML: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: Location,
        /// The parser's description.
        message: String,
    },
    /// A value the resource does not allow.
    #[error("{at}: {message}")]
    Invalid {
        /// The value.
        at: Location,
        /// What was found and what was expected.
        message: String,
    },
    /// The seccomp part, read as the runtime reads it, is invalid.
    #[error(transparent)]
    Profile(#[from] docker::DockerError),
    /// A base profile file could not be read.
    #[error("{at}: cannot read base profile {}: {message}", path.display())]
    Base {
        /// The `baseProfileName` value.
        at: Location,
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

impl K8sError {
    /// Where in the file the problem is.
    ///
    /// ```
    /// use sysgate::profile::{k8s, Target};
    /// use sysgate::Arch;
    ///
    /// let yaml = "kind: SeccompProfile\napiVersion: security-profiles-operator.x-k8s.io/v9\n";
    /// let err = k8s::read(yaml, "p", &Target::new(Arch::X86_64), &Default::default()).unwrap_err();
    /// assert_eq!(err.location().to_string(), "p:2:13");
    /// ```
    pub fn location(&self) -> &Location {
        match self {
            K8sError::Syntax { at, .. }
            | K8sError::Invalid { at, .. }
            | K8sError::Base { at, .. } => at,
            K8sError::Profile(e) => e.location(),
        }
    }
}

/// Where base profiles are found.
///
/// ```
/// use sysgate::profile::k8s::ReadOptions;
///
/// assert!(ReadOptions::default().base.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// A file, or a directory of `.yaml`/`.yml` files, holding base profiles.
    pub base: Option<PathBuf>,
    /// An unknown top-level or `metadata` field is an error instead of a warning (the
    /// operator's schema already refuses unknown fields inside `spec`).
    pub strict_keys: bool,
}

impl ReadOptions {
    /// Base profiles from `path` (a file or a directory).
    ///
    /// ```
    /// use sysgate::profile::k8s::ReadOptions;
    ///
    /// assert!(ReadOptions::with_base("profiles/").base.is_some());
    /// ```
    pub fn with_base(path: impl Into<PathBuf>) -> ReadOptions {
        ReadOptions {
            base: Some(path.into()),
            strict_keys: false,
        }
    }
}

/// Read every `SeccompProfile` in `text` for `target`, each named by its `metadata`: the
/// reader every format has (see [`profile`](crate::profile)). `source` names the file in
/// errors and rule origins.
///
/// ```
/// use sysgate::profile::{k8s, Target};
/// use sysgate::Arch;
///
/// let yaml = "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\n\
///             metadata:\n  name: all\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n---\n\
///             apiVersion: v1\nkind: ConfigMap\n";
/// let docs = k8s::read(yaml, "p", &Target::new(Arch::X86_64), &Default::default())?;
/// assert_eq!(docs.len(), 1);
/// # Ok::<(), k8s::K8sError>(())
/// ```
pub fn read(
    text: &str,
    source: &str,
    target: &Target,
    options: &ReadOptions,
) -> Result<Vec<Named>, K8sError> {
    let file = File::load(text, source)?;
    let mut bases = BaseIndex::default();
    let mut out = Vec::new();
    for (i, doc) in file.docs.iter().enumerate() {
        let Some(obj) = file.profile(doc)? else {
            let at = file.at(doc);
            file.warnings
                .borrow_mut()
                .push(format!("{at}: not a {API_GROUP} SeccompProfile; skipped"));
            continue;
        };
        file.check_keys(doc, options.strict_keys)?;
        let mut seen = Vec::new();
        let fragments = resolve_bases(&file, &obj, options, &mut seen, &mut bases)?;
        let (json, map) = to_json(&file, &obj, &fragments)?;
        let loaded = docker::parse(&json, JSON_SOURCE, target).map_err(|e| map.error(e))?;
        let mut loaded = map.loaded(loaded);
        if i == 0 {
            loaded
                .warnings
                .splice(0..0, file.warnings.borrow_mut().drain(..));
        }
        out.push(Named {
            name: Some(obj.name.clone()),
            namespace: obj.namespace.clone(),
            loaded,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The YAML tree with positions, built from the parser's events.
// ---------------------------------------------------------------------------------------------

/// A YAML node reduced to what the resource uses.
#[derive(Clone, Debug)]
enum Value {
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
    Str(String),
    Int(i64),
    /// A number that is not a 64-bit integer (a float, or too large), as written.
    Number(String),
    /// A document's `spec.syscalls`, turned into JSON entry by entry while the file is parsed
    /// (no tree of a long list is ever held).
    Entries(Rc<Entries>),
    /// Anything else (a float, a boolean, null, an integer out of range), described.
    Other(&'static str),
}

#[derive(Clone, Debug)]
struct Node {
    value: Value,
    line: u32,
    column: u32,
}

impl Node {
    fn new(value: Value, mark: Marker) -> Node {
        let (line, column) = position(mark);
        Node {
            value,
            line,
            column,
        }
    }

    fn describe(&self) -> String {
        match &self.value {
            Value::Map(_) => "a mapping".into(),
            Value::Seq(_) | Value::Entries(_) => "a list".into(),
            Value::Str(s) => format!("{s:?}"),
            Value::Int(i) => i.to_string(),
            Value::Number(n) => format!("{n} (not a 64-bit integer)"),
            Value::Other(what) => (*what).into(),
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// How many nodes a copy of this one makes (a mapping entry counts once more), as
    /// saphyr counts them for its alias budget; `None` once past `budget`.
    fn size_within(&self, budget: usize) -> Option<usize> {
        let mut left = budget.checked_sub(1)?;
        match &self.value {
            Value::Seq(items) => {
                for item in items {
                    left -= item.size_within(left)?;
                }
            }
            Value::Map(entries) => {
                for (_, v) in entries {
                    left = left.checked_sub(1)?;
                    left -= v.size_within(left)?;
                }
            }
            Value::Entries(e) => left = left.checked_sub(e.count)?,
            _ => {}
        }
        Some(budget - left)
    }
}

/// Line (from 1) and column (in characters, from 1) of a parser position.
fn position(mark: Marker) -> (u32, u32) {
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (clamp(mark.line()), clamp(mark.col().saturating_add(1)))
}

/// A plain scalar as go-yaml v2 (and so `kubectl`, through sigs.k8s.io/yaml) reads an
/// integer: `_` separators dropped, then Go's `strconv.ParseInt(s, 0, 64)`: an optional sign,
/// `0x` hex, `0o` or a leading `0` octal, `0b` binary, else decimal. `None` if it is not one.
fn go_yaml_int(text: &str) -> Option<i64> {
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, magnitude) = super::line_text::c_style_int(&plain)?;
    let magnitude = i128::from(magnitude);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::String(s) => Value::Str(s.to_string()),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::Null => Value::Other("null"),
        Scalar::Boolean(_) => Value::Other("a boolean"),
        Scalar::FloatingPoint(_) => Value::Other("a number that is not a 64-bit integer"),
    }
}

/// Nodes an alias may copy in one file, as saphyr limits them (a "billion laughs" file
/// would otherwise expand exponentially).
const ALIAS_BUDGET: usize = 100_000;

/// A mapping key as written: its text (what messages name) and, for comparing keys, whether
/// it was a string scalar (`None`: a key that is not compared, such as a collection).
struct Key {
    text: String,
    kind: Option<bool>,
    mark: Marker,
}

/// A collection being built.
enum Frame {
    Map {
        mark: Marker,
        anchor: usize,
        entries: Vec<(String, Node)>,
        /// Kind of each entry's key (see [`Key`]), for the duplicate check.
        kinds: Vec<Option<bool>>,
        /// Once the mapping is long, its keys, so that the duplicate check stays linear.
        seen: Option<HashSet<(bool, String)>>,
        key: Option<Key>,
    },
    Seq {
        mark: Marker,
        anchor: usize,
        items: Vec<Node>,
    },
    /// A document's `spec.syscalls`.
    Entries {
        mark: Marker,
        anchor: usize,
        entries: Entries,
    },
}

/// Builds [`Node`] trees from the parser's events, as saphyr's loader would (the same values,
/// positions, alias expansion and duplicate-key errors), but keeping only what the resource
/// uses, and turning each `spec.syscalls` entry into JSON as soon as it is complete.
struct Builder<'s> {
    source: &'s str,
    stack: Vec<Frame>,
    root: Option<Node>,
    docs: Vec<Node>,
    anchors: HashMap<usize, Node>,
    alias_budget: usize,
    /// The first problem the parser did not see (a duplicate key, an alias over budget).
    error: Option<(Marker, &'static str)>,
}

impl<'input> SpannedEventReceiver<'input> for Builder<'_> {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        if self.error.is_some() {
            return;
        }
        let mark = span.start;
        match event {
            Event::DocumentEnd => {
                let root = self
                    .root
                    .take()
                    .unwrap_or_else(|| Node::new(Value::Other("an invalid value"), mark));
                self.docs.push(root);
            }
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                mark,
                anchor,
                entries: Vec::new(),
                kinds: Vec::new(),
                seen: None,
                key: None,
            }),
            Event::SequenceStart(anchor, _) => {
                let frame = if self.at_syscalls() {
                    Frame::Entries {
                        mark,
                        anchor,
                        entries: Entries::default(),
                    }
                } else {
                    Frame::Seq {
                        mark,
                        anchor,
                        items: Vec::new(),
                    }
                };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (value, start, anchor) = match self.stack.pop() {
                    Some(Frame::Map {
                        mark,
                        anchor,
                        entries,
                        ..
                    }) => (Value::Map(entries), mark, anchor),
                    Some(Frame::Seq {
                        mark,
                        anchor,
                        items,
                    }) => (Value::Seq(items), mark, anchor),
                    Some(Frame::Entries {
                        mark,
                        anchor,
                        mut entries,
                    }) => {
                        // Kept until the documents are read: without the slack of growing.
                        let json = entries.json.get_mut();
                        json.text.shrink_to_fit();
                        json.lines.shrink_to_fit();
                        (Value::Entries(Rc::new(entries)), mark, anchor)
                    }
                    None => return,
                };
                // A collection as a key is never equal to another (saphyr compares them; a
                // resource has no such keys).
                let key = (String::new(), None);
                self.insert(Node::new(value, start), anchor, key, mark);
            }
            Event::Scalar(text, style, anchor, tag) => {
                // A tag outside the core schema is read past, as saphyr reads it; its key
                // text is empty.
                let core = tag.as_ref().is_none_or(|t| t.is_yaml_core_schema());
                let written = std::borrow::Cow::Borrowed(text.as_ref());
                let parsed = if core {
                    Scalar::parse_from_cow_and_metadata(written, style, tag.as_ref())
                } else {
                    Scalar::parse_from_cow_and_metadata(written, style, None)
                };
                let key = match &parsed {
                    Some(Scalar::String(s)) if core => (s.to_string(), Some(true)),
                    Some(other) if core => (format!("{other:?}"), Some(false)),
                    _ => (String::new(), None),
                };
                // kubectl turns YAML into JSON with go-yaml v2 (YAML 1.1), whose integers
                // are Go's: `0777` is octal 511 there (a file mode), not 777 as in YAML 1.2.
                let go_int = (style == ScalarStyle::Plain && tag.is_none())
                    .then(|| go_yaml_int(text.as_ref()))
                    .flatten();
                let value = match &parsed {
                    _ if go_int.is_some() => Value::Int(go_int.unwrap_or_default()),
                    // Echoed as written (1e3, 123456789012345678901234567890), not as a float.
                    Some(Scalar::FloatingPoint(_)) => Value::Number(text.to_string()),
                    Some(s) => scalar(s),
                    None => Value::Other("an invalid value"),
                };
                self.insert(Node::new(value, mark), anchor, key, mark);
            }
            Event::Alias(id) => {
                let node = match self.anchors.get(&id) {
                    None => Node::new(Value::Other("an invalid value"), mark),
                    Some(node) => match node.size_within(self.alias_budget) {
                        Some(size) => {
                            self.alias_budget -= size;
                            let (line, column) = position(mark);
                            Node {
                                line,
                                column,
                                ..node.clone()
                            }
                        }
                        None => {
                            self.error = Some((
                                mark,
                                "alias expansion exceeded the maximum node budget \
                                 (possible billion-laughs attack)",
                            ));
                            return;
                        }
                    },
                };
                let key = match &node.value {
                    Value::Str(s) => (s.clone(), Some(true)),
                    _ => (String::new(), None),
                };
                self.insert(node, 0, key, mark);
            }
            Event::DocumentStart(_) | Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
        }
    }
}

impl Builder<'_> {
    /// Whether a sequence starting now is a document's `spec.syscalls`.
    fn at_syscalls(&self) -> bool {
        let pending = |frame: &Frame, name: &str| matches!(frame, Frame::Map { key: Some(k), .. } if k.kind == Some(true) && k.text == name);
        matches!(self.stack.as_slice(), [doc, spec] if pending(doc, "spec") && pending(spec, "syscalls"))
    }

    fn insert(&mut self, node: Node, anchor: usize, key: (String, Option<bool>), mark: Marker) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let source = self.source;
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Entries { entries, .. }) => entries.add(Src(source), &node),
            Some(Frame::Map {
                entries,
                kinds,
                seen,
                key: pending,
                ..
            }) => match pending.take() {
                None => {
                    *pending = Some(Key {
                        text: key.0,
                        kind: key.1,
                        mark,
                    })
                }
                Some(k) => {
                    if let Some(kind) = k.kind {
                        if seen.is_none() && entries.len() >= 16 {
                            *seen = Some(
                                entries
                                    .iter()
                                    .zip(kinds.iter())
                                    .filter_map(|((t, _), k)| k.map(|k| (k, t.clone())))
                                    .collect(),
                            );
                        }
                        let duplicate = match seen {
                            Some(seen) => !seen.insert((kind, k.text.clone())),
                            None => entries
                                .iter()
                                .zip(kinds.iter())
                                .any(|((t, _), kk)| *kk == Some(kind) && *t == k.text),
                        };
                        if duplicate {
                            self.error = Some((k.mark, "duplicated key in mapping"));
                            return;
                        }
                    }
                    entries.push((k.text, node));
                    kinds.push(k.kind);
                }
            },
        }
    }
}

/// Where `source`'s messages point: helpers that check a node's shape.
#[derive(Clone, Copy)]
struct Src<'a>(&'a str);

impl Src<'_> {
    fn at(&self, n: &Node) -> Location {
        Location::new(self.0, n.line as usize, n.column as usize)
    }

    fn invalid(&self, n: &Node, message: impl Into<String>) -> K8sError {
        K8sError::Invalid {
            at: self.at(n),
            message: message.into(),
        }
    }

    fn string<'n>(&self, n: &'n Node, what: &str) -> Result<&'n str, K8sError> {
        match &n.value {
            Value::Str(s) => Ok(s),
            _ => Err(self.invalid(n, format!("{what} is {}: expected a string", n.describe()))),
        }
    }

    fn map<'n>(&self, n: &'n Node, what: &str) -> Result<&'n [(String, Node)], K8sError> {
        match &n.value {
            Value::Map(m) => Ok(m),
            _ => Err(self.invalid(n, format!("{what} is {}: expected a mapping", n.describe()))),
        }
    }

    fn seq<'n>(&self, n: &'n Node, what: &str) -> Result<&'n [Node], K8sError> {
        match &n.value {
            Value::Seq(s) => Ok(s),
            _ => Err(self.invalid(n, format!("{what} is {}: expected a list", n.describe()))),
        }
    }

    fn int(&self, n: &Node, what: &str, max: u64) -> Result<u64, K8sError> {
        match n.value {
            Value::Int(i) if i >= 0 && (i as u64) <= max => Ok(i as u64),
            _ => Err(self.invalid(
                n,
                format!(
                    "{what} is {}: expected an integer from 0 to {max}",
                    n.describe()
                ),
            )),
        }
    }
}

/// A parsed file: its documents as trees.
struct File<'a> {
    src: Src<'a>,
    docs: Rc<Vec<Node>>,
    warnings: std::cell::RefCell<Vec<String>>,
}

impl<'a> std::ops::Deref for File<'a> {
    type Target = Src<'a>;

    fn deref(&self) -> &Src<'a> {
        &self.src
    }
}

/// What the resource says, checked.
struct Object<'f> {
    name: String,
    namespace: Option<String>,
    spec: &'f Node,
    base: Option<(String, Location)>,
}

impl<'a> File<'a> {
    fn load(text: &str, source: &'a str) -> Result<File<'a>, K8sError> {
        let syntax = |mark: Marker, message: &str| K8sError::Syntax {
            at: Location::new(source, mark.line().max(1), mark.col() + 1),
            message: message.to_string(),
        };
        let mut builder = Builder {
            source,
            stack: Vec::new(),
            root: None,
            docs: Vec::new(),
            anchors: HashMap::new(),
            alias_budget: ALIAS_BUDGET,
            error: None,
        };
        // As saphyr's loader: the parser's error first, then the builder's.
        Parser::new_from_str(text)
            .load(&mut builder, true)
            .map_err(|e| syntax(*e.marker(), e.info()))?;
        if let Some((mark, message)) = builder.error {
            return Err(syntax(mark, message));
        }
        Ok(File {
            src: Src(source),
            docs: Rc::new(builder.docs),
            warnings: Default::default(),
        })
    }

    fn source(&self) -> &'a str {
        self.src.0
    }

    /// Fields the resource does not have, at the top and in `metadata`: the API server drops
    /// them (kubectl warns "unknown field"), so a misspelled one is lost. A warning each, or
    /// an error with `strict`. (`spec`'s fields are checked against the schema, which refuses
    /// unknown ones.)
    fn check_keys(&self, doc: &Node, strict: bool) -> Result<(), K8sError> {
        const TOP: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
        const META: &[&str] = &[
            "name",
            "generateName",
            "namespace",
            "selfLink",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "managedFields",
        ];
        let check = |node: &Node, what: &str, fields: &[&str]| {
            let Value::Map(entries) = &node.value else {
                return Ok(());
            };
            for (key, value) in entries {
                if fields.contains(&key.as_str()) {
                    continue;
                }
                let message = format!(
                    "unknown field {key:?} in {what}: the API server drops it (expected one of {})",
                    fields.join(", ")
                );
                if strict {
                    return Err(self.invalid(value, format!("{message} (strict mode)")));
                }
                self.warnings
                    .borrow_mut()
                    .push(format!("{}: {message}", self.at(value)));
            }
            Ok(())
        };
        check(doc, "the SeccompProfile", TOP)?;
        match doc.get("metadata") {
            Some(meta) => check(meta, "metadata", META),
            None => Ok(()),
        }
    }

    /// The document as a `SeccompProfile`, or `None` for another kind.
    fn profile<'n>(&self, doc: &'n Node) -> Result<Option<Object<'n>>, K8sError> {
        if matches!(doc.value, Value::Other("null")) {
            return Ok(None);
        }
        self.map(doc, "the document")?;
        let kind = doc
            .get("kind")
            .map(|k| self.string(k, "kind"))
            .transpose()?;
        let api = doc
            .get("apiVersion")
            .map(|a| self.string(a, "apiVersion"))
            .transpose()?;
        let ours = api.is_some_and(|a| a.starts_with(&format!("{API_GROUP}/")));
        if kind != Some("SeccompProfile") || !ours {
            return Ok(None);
        }
        let api_node = doc.get("apiVersion").expect("checked above");
        let version = api
            .unwrap_or_default()
            .trim_start_matches(&format!("{API_GROUP}/"));
        if !matches!(version, "v1" | "v1beta1" | "v1alpha1") {
            return Err(self.invalid(
                api_node,
                format!(
                    "unknown apiVersion {:?}: expected {API_GROUP}/v1 or {API_GROUP}/v1beta1",
                    api.unwrap_or_default()
                ),
            ));
        }
        let meta = doc.get("metadata").ok_or_else(|| {
            self.invalid(
                doc,
                "the SeccompProfile has no metadata: expected metadata.name",
            )
        })?;
        self.map(meta, "metadata")?;
        let name_node = meta
            .get("name")
            .ok_or_else(|| self.invalid(meta, "metadata has no name: expected metadata.name"))?;
        let name = self.string(name_node, "metadata.name")?.to_string();
        let namespace = meta
            .get("namespace")
            .map(|n| self.string(n, "metadata.namespace").map(str::to_string))
            .transpose()?;
        let spec = doc.get("spec").ok_or_else(|| {
            self.invalid(
                doc,
                "the SeccompProfile has no spec: expected spec.defaultAction",
            )
        })?;
        self.map(spec, "spec")?;
        let base = match spec.get("baseProfileName") {
            Some(b) => {
                let s = self.string(b, "baseProfileName")?;
                (!s.is_empty()).then(|| (s.to_string(), self.at(b)))
            }
            None => None,
        };
        Ok(Some(Object {
            name,
            namespace,
            spec,
            base,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Base profiles.
// ---------------------------------------------------------------------------------------------

/// The `syscalls` of a profile or of one of its bases, and the file they are in.
struct Fragment {
    source: String,
    entries: Option<Rc<Entries>>,
}

fn resolve_bases(
    file: &File<'_>,
    obj: &Object<'_>,
    options: &ReadOptions,
    seen: &mut Vec<String>,
    bases: &mut BaseIndex,
) -> Result<Vec<Fragment>, K8sError> {
    // The profile's own entries come first; the bases' follow (order does not matter).
    let mut out = vec![Fragment {
        source: file.source().to_string(),
        entries: entries_of(file, obj.spec)?,
    }];
    seen.push(obj.name.clone());
    let mut next = obj.base.clone();
    while let Some((base, at)) = next.take() {
        if seen.len() > MAX_BASE_DEPTH {
            return Err(K8sError::Invalid {
                at,
                message: format!(
                    "base profiles nest deeper than {MAX_BASE_DEPTH} levels: expected a shorter chain"
                ),
            });
        }
        if seen.contains(&base) {
            return Err(K8sError::Invalid {
                at,
                message: format!(
                    "base profile {base:?} includes itself ({} -> {base})",
                    seen.join(" -> ")
                ),
            });
        }
        if base.starts_with("oci://") {
            return Err(K8sError::Invalid {
                at,
                message: format!(
                    "base profile {base:?} is a remote OCI artifact, which sysgate does not \
                     fetch: expected the name of a local profile"
                ),
            });
        }
        let (base_source, docs, doc) = bases.find(file, &base, &at, options)?;
        let f = File {
            src: Src(&base_source),
            docs,
            warnings: Default::default(),
        };
        let spec = f.docs[doc].get("spec").expect("found profiles have a spec");
        let entries = entries_of(&f, spec)?;
        let obj_base = f.profile(&f.docs[doc])?.and_then(|o| o.base);
        out.push(Fragment {
            source: base_source.clone(),
            entries,
        });
        seen.push(base);
        next = obj_base;
    }
    Ok(out)
}

/// The entries of `spec.syscalls`, if any.
fn entries_of(file: &File<'_>, spec: &Node) -> Result<Option<Rc<Entries>>, K8sError> {
    let Some(s) = spec.get("syscalls") else {
        return Ok(None);
    };
    match &s.value {
        Value::Other("null") => Ok(None),
        Value::Entries(e) => Ok(Some(e.clone())),
        // A list that was not read as `spec.syscalls` (an alias of one written elsewhere).
        _ => {
            let mut entries = Entries::default();
            for item in file.seq(s, "syscalls")? {
                entries.add(file.src, item);
            }
            Ok(Some(Rc::new(entries)))
        }
    }
}

/// Where a base profile was found: its file's name, that file's documents and its index.
type FoundBase = (String, Rc<Vec<Node>>, usize);

/// The profiles of one file by name: the first document of each name, as a scan from the
/// top finds it. A document that cannot be read stops the scan there, as it would stop a
/// search: names after it are not indexed, and a search for one of them gets its error.
struct NamedDocs {
    source: String,
    docs: Rc<Vec<Node>>,
    by_name: HashMap<String, usize>,
    stopped_by: Option<K8sError>,
}

impl NamedDocs {
    fn index(f: &File<'_>) -> NamedDocs {
        let mut by_name = HashMap::new();
        let mut stopped_by = None;
        for (i, d) in f.docs.iter().enumerate() {
            match f.profile(d) {
                Ok(Some(o)) => {
                    by_name.entry(o.name).or_insert(i);
                }
                Ok(None) => {}
                Err(e) => {
                    stopped_by = Some(e);
                    break;
                }
            }
        }
        NamedDocs {
            source: f.source().to_string(),
            docs: f.docs.clone(),
            by_name,
            stopped_by,
        }
    }

    /// The document called `name`: found, not here, or the error a scan would stop at.
    fn find(&self, name: &str) -> Result<Option<FoundBase>, K8sError> {
        if let Some(&i) = self.by_name.get(name) {
            return Ok(Some((self.source.clone(), self.docs.clone(), i)));
        }
        match &self.stopped_by {
            Some(e) => Err(e.clone()),
            None => Ok(None),
        }
    }
}

/// Where base profiles are looked up during one `parse`: the file itself, then the `--base`
/// files, each read and indexed once, so that a file of many profiles naming bases costs
/// time linear in its size rather than a scan of every document (and a re-read of every
/// base file) for each of them.
#[derive(Default)]
struct BaseIndex {
    here: Option<NamedDocs>,
    /// The `--base` files read so far, in the order they are searched.
    read: Vec<NamedDocs>,
    /// The `--base` files not read yet (None until the first search that needs them).
    unread: Option<std::collections::VecDeque<PathBuf>>,
}

impl BaseIndex {
    /// The file, its documents and the index of the base profile called `name`. Base files
    /// are read in order only as far as a search needs, as a plain search would.
    fn find(
        &mut self,
        file: &File<'_>,
        name: &str,
        at: &Location,
        options: &ReadOptions,
    ) -> Result<FoundBase, K8sError> {
        let here = self.here.get_or_insert_with(|| NamedDocs::index(file));
        if let Some(found) = here.find(name)? {
            return Ok(found);
        }
        for f in &self.read {
            if let Some(found) = f.find(name)? {
                return Ok(found);
            }
        }
        if self.unread.is_none() {
            self.unread = Some(base_files(at, options)?.into());
        }
        while let Some(path) = self.unread.as_mut().and_then(|u| u.pop_front()) {
            let text = super::read_file(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    String::from_utf8(bytes)
                        .map_err(|_| format!("cannot read {}: not UTF-8 text", path.display()))
                })
                .map_err(|message| K8sError::Base {
                    at: at.clone(),
                    path: path.clone(),
                    message,
                })?;
            let source = path.display().to_string();
            let f = NamedDocs::index(&File::load(&text, &source)?);
            let found = f.find(name);
            self.read.push(f);
            if let Some(found) = found? {
                return Ok(found);
            }
        }
        Err(K8sError::Invalid {
            at: at.clone(),
            message: format!(
                "base profile {name:?} not found: expected a SeccompProfile of that name in this file{}",
                match &options.base {
                    Some(b) => format!(" or in {}", b.display()),
                    None => " (or give --base FILE|DIR)".into(),
                }
            ),
        })
    }
}

/// The `--base` file, or every `.yaml`/`.yml` file of the `--base` directory in name order.
fn base_files(at: &Location, options: &ReadOptions) -> Result<Vec<PathBuf>, K8sError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(base) = &options.base {
        if base.is_dir() {
            let read = std::fs::read_dir(base).map_err(|e| K8sError::Base {
                at: at.clone(),
                path: base.clone(),
                message: e.to_string(),
            })?;
            let mut files: Vec<PathBuf> = read
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                // Regular files only (after symlinks): a FIFO that nobody named would block
                // the read for ever, a device would be read as a profile.
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            candidates.extend(files);
        } else {
            candidates.push(base.clone());
        }
    }
    Ok(candidates)
}

// ---------------------------------------------------------------------------------------------
// The spec as the JSON the operator writes, one value a line, with each line's YAML position.
// ---------------------------------------------------------------------------------------------

/// The source name of the intermediate JSON; never shown (locations are mapped back).
const JSON_SOURCE: &str = "\u{0}k8s-json";

/// JSON text, one located value a line, and the YAML position (line, column) of each line.
#[derive(Debug, Default)]
struct Emit {
    text: String,
    lines: Vec<(u32, u32)>,
}

impl Emit {
    fn line(&mut self, s: std::fmt::Arguments<'_>, at: &Node) {
        let _ = self.text.write_fmt(s);
        self.text.push('\n');
        self.lines.push((at.line, at.column));
    }

    /// Put a comma after the last value written (before the next element of a list).
    fn comma(&mut self) {
        if self.text.ends_with('\n') {
            self.text.pop();
            self.text.push_str(",\n");
        }
    }
}

/// The entries of one `syscalls` list as JSON (see [`Emit`]), or why one of them cannot be
/// written so: reported only if a `SeccompProfile` uses the list.
#[derive(Debug, Default)]
struct Entries {
    count: usize,
    /// Taken (left empty) by the one document of a file that uses it (see [`to_json`]).
    json: std::cell::RefCell<Emit>,
    error: Option<K8sError>,
}

impl Entries {
    fn add(&mut self, src: Src<'_>, item: &Node) {
        if self.error.is_some() {
            return;
        }
        let json = self.json.get_mut();
        if self.count > 0 {
            json.comma();
        }
        self.count += 1;
        if let Err(e) = emit_entry(src, item, json) {
            self.error = Some(e);
            *json = Emit::default();
        }
    }
}

/// JSON line (1-based) to YAML location.
struct LineMap {
    lines: Vec<(u32, u32)>,
    /// The file of each run of lines: the index of its first line, and its name.
    files: Vec<(usize, String)>,
}

impl LineMap {
    fn map(&self, json_line: usize) -> Location {
        // Every line has a position; the fallback only keeps this total.
        let i = json_line.saturating_sub(1);
        let i = if i < self.lines.len() { i } else { 0 };
        let (line, column) = self.lines.get(i).copied().unwrap_or((1, 1));
        let file = self.files.partition_point(|(start, _)| *start <= i);
        let file = self.files.get(file.saturating_sub(1)).map_or("", |f| &f.1);
        Location::new(file, line as usize, column as usize)
    }

    fn map_text(&self, s: &str) -> String {
        // Rewrite every "<JSON_SOURCE>:line:col" in a message.
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(JSON_SOURCE) {
            out.push_str(&rest[..i]);
            let after = &rest[i + JSON_SOURCE.len()..];
            let mut parts = after.splitn(3, ':');
            let _ = parts.next();
            let line: Option<usize> = parts.next().and_then(|l| l.parse().ok());
            let tail = parts.next().unwrap_or("");
            let digits = tail
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(tail.len());
            match line {
                Some(l) => {
                    out.push_str(&self.map(l).to_string());
                    rest = &tail[digits..];
                }
                None => {
                    out.push_str(JSON_SOURCE);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn error(&self, e: docker::DockerError) -> K8sError {
        let at = self.map(e.location().line);
        let text = e.to_string();
        let message = text
            .split_once(": ")
            .map(|(_, m)| self.map_text(m))
            .unwrap_or(text);
        K8sError::Invalid { at, message }
    }

    fn loaded(&self, mut l: Loaded) -> Loaded {
        for w in &mut l.warnings {
            *w = self.map_text(w);
        }
        l.default_origin = l.default_origin.as_deref().map(|o| self.map_text(o));
        l.policy.map_origins(|o| {
            if let Some(o) = o {
                *o = self.map_text(o);
            }
        });
        l
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn to_json(
    file: &File<'_>,
    obj: &Object<'_>,
    fragments: &[Fragment],
) -> Result<(String, LineMap), K8sError> {
    let spec = obj.spec;
    let mut e = Emit::default();
    e.line(format_args!("{{"), spec);
    for (key, value) in file.map(spec, "spec")? {
        match key.as_str() {
            "defaultAction" => {
                let s = file.string(value, "defaultAction")?;
                e.line(format_args!("\"defaultAction\": {},", json_str(s)), value);
            }
            "architectures" => {
                let mut arches = Vec::new();
                for a in file.seq(value, "architectures")? {
                    let s = file.string(a, "an architecture")?;
                    if !ARCHES.contains(&s) {
                        return Err(file.invalid(
                            a,
                            format!(
                                "unknown architecture {s:?}: expected one of {}",
                                ARCHES.join(", ")
                            ),
                        ));
                    }
                    if s != "SCMP_ARCH_NATIVE" {
                        arches.push((s, a));
                    }
                }
                e.line(format_args!("\"architectures\": ["), value);
                for (i, (s, a)) in arches.iter().enumerate() {
                    let comma = if i + 1 < arches.len() { "," } else { "" };
                    e.line(format_args!("{}{comma}", json_str(s)), a);
                }
                e.line(format_args!("],"), value);
            }
            "flags" => {
                e.line(format_args!("\"flags\": ["), value);
                let items = file.seq(value, "flags")?;
                for (i, f) in items.iter().enumerate() {
                    let s = file.string(f, "a flag")?;
                    if !FLAGS.contains(&s) {
                        return Err(file.invalid(
                            f,
                            format!("unknown flag {s:?}: expected one of {}", FLAGS.join(", ")),
                        ));
                    }
                    let comma = if i + 1 < items.len() { "," } else { "" };
                    e.line(format_args!("{}{comma}", json_str(s)), f);
                }
                e.line(format_args!("],"), value);
            }
            "listenerPath" | "listenerMetadata" => {
                let s = file.string(value, key)?;
                e.line(format_args!("{}: {},", json_str(key), json_str(s)), value);
            }
            "syscalls" | "baseProfileName" | "disabled" => {}
            other => {
                return Err(file.invalid(
                    value,
                    format!(
                        "unknown field spec.{other}: expected defaultAction, architectures, \
                         syscalls, flags, listenerPath, listenerMetadata, baseProfileName or \
                         disabled"
                    ),
                ))
            }
        }
    }
    if spec.get("defaultAction").is_none() {
        return Err(file.invalid(
            spec,
            "spec has no defaultAction: expected one such as SCMP_ACT_ERRNO",
        ));
    }
    e.line(format_args!("\"syscalls\": ["), spec);
    // A file of one document: its own entries are needed once, so they are taken rather
    // than copied (a million entries are a few hundred megabytes of JSON).
    let take_own = file.docs.len() == 1;
    let mut files = vec![(0, file.source().to_string())];
    let mut any = false;
    for (k, fragment) in fragments.iter().enumerate() {
        let Some(entries) = &fragment.entries else {
            continue;
        };
        if let Some(err) = &entries.error {
            return Err(err.clone());
        }
        if entries.count == 0 {
            continue;
        }
        if any {
            e.comma();
        }
        any = true;
        files.push((e.lines.len(), fragment.source.clone()));
        if k == 0 && take_own {
            let Emit {
                mut text,
                mut lines,
            } = std::mem::take(&mut *entries.json.borrow_mut());
            text.insert_str(0, &e.text);
            lines.splice(0..0, e.lines.iter().copied());
            e = Emit { text, lines };
        } else {
            let json = entries.json.borrow();
            e.text.push_str(&json.text);
            e.lines.extend_from_slice(&json.lines);
        }
    }
    files.push((e.lines.len(), file.source().to_string()));
    e.line(format_args!("]"), spec);
    e.line(format_args!("}}"), spec);
    Ok((
        e.text,
        LineMap {
            lines: e.lines,
            files,
        },
    ))
}

/// One `syscalls` entry as JSON, from `{` to `}`.
fn emit_entry(f: Src<'_>, item: &Node, e: &mut Emit) -> Result<(), K8sError> {
    let fields = f.map(item, "a syscalls entry")?;
    e.line(format_args!("{{"), item);
    if item.get("action").is_none() {
        return Err(f.invalid(
            item,
            "this syscalls entry has no action: expected one such as SCMP_ACT_ALLOW",
        ));
    }
    let names = item.get("names").ok_or_else(|| {
        f.invalid(
            item,
            "this syscalls entry has no names: expected at least one name",
        )
    })?;
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            e.comma();
        }
        match key.as_str() {
            "action" => {
                let s = f.string(value, "action")?;
                e.line(format_args!("\"action\": {}", json_str(s)), value);
            }
            "errnoRet" => {
                let n = f.int(value, "errnoRet", i32::MAX as u64)?;
                e.line(format_args!("\"errnoRet\": {n}"), value);
            }
            "names" => {
                let items = f.seq(names, "names")?;
                if items.is_empty() {
                    return Err(f.invalid(names, "names is empty: expected at least one syscall name"));
                }
                e.line(format_args!("\"names\": ["), value);
                for (i, n) in items.iter().enumerate() {
                    let s = f.string(n, "a syscall name")?;
                    let comma = if i + 1 < items.len() { "," } else { "" };
                    e.line(format_args!("{}{comma}", json_str(s)), n);
                }
                e.line(format_args!("]"), value);
            }
            "args" => {
                let items = f.seq(value, "args")?;
                if items.len() > 6 {
                    return Err(f.invalid(value, format!("{} args: expected at most 6", items.len())));
                }
                e.line(format_args!("\"args\": ["), value);
                for (i, a) in items.iter().enumerate() {
                    let comma = if i + 1 < items.len() { "," } else { "" };
                    let mut parts = Vec::new();
                    for (k, v) in f.map(a, "an argument condition")? {
                        match k.as_str() {
                            "index" => parts.push(format!("\"index\": {}", f.int(v, "index", i32::MAX as u64)?)),
                            "value" | "valueTwo" => {
                                parts.push(format!("{}: {}", json_str(k), f.int(v, k, MAX_VALUE)?))
                            }
                            "op" => parts.push(format!("\"op\": {}", json_str(f.string(v, "op")?))),
                            other => {
                                return Err(f.invalid(
                                    v,
                                    format!("unknown field {other:?} in an argument condition: expected index, value, valueTwo or op"),
                                ))
                            }
                        }
                    }
                    if a.get("index").is_none() || a.get("op").is_none() {
                        return Err(f.invalid(a, "an argument condition needs index and op: expected {index: 0, value: 1, op: SCMP_CMP_EQ}"));
                    }
                    // One line per condition, located at the condition; a bad operator or index
                    // found by the profile reader points there.
                    e.line(format_args!("{{{}}}{comma}", parts.join(", ")), a);
                }
                e.line(format_args!("]"), value);
            }
            other => {
                return Err(f.invalid(
                    value,
                    format!("unknown field {other:?} in a syscalls entry: expected names, action, errnoRet or args"),
                ))
            }
        }
    }
    e.line(format_args!("}}"), item);
    Ok(())
}
// ---------------------------------------------------------------------------------------------
// Writing.
// ---------------------------------------------------------------------------------------------

/// What [`write`](fn@write) needs besides the policy.
///
/// ```
/// use sysgate::profile::k8s::WriteOptions;
///
/// let o = WriteOptions::named("app");
/// assert_eq!(o.localhost_profile(), "operator/default/app.json");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (the operator's directory for it).
    pub namespace: String,
}

impl WriteOptions {
    /// A profile called `name` in namespace `default`.
    pub fn named(name: impl Into<String>) -> WriteOptions {
        WriteOptions {
            name: name.into(),
            namespace: "default".into(),
        }
    }

    /// The `localhostProfile` a pod uses for this profile: where the operator installs it,
    /// relative to the kubelet's seccomp directory.
    pub fn localhost_profile(&self) -> String {
        let file = if self.name.ends_with(".json") {
            self.name.clone()
        } else {
            format!("{}.json", self.name)
        };
        format!("operator/{}/{file}", self.namespace)
    }
}

/// The `SeccompProfile` resource for `policy` (apiVersion v1), followed by the pod
/// `securityContext` that uses it, as comments.
///
/// ```
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::profile::k8s::{self, WriteOptions};
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Allow, "read"))?;
/// let written = k8s::write(&policy, None, &WriteOptions::named("demo"));
/// assert!(written.text.contains("kind: SeccompProfile"));
/// assert!(written.text.contains("#       localhostProfile: operator/default/demo.json"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write(policy: &Policy, listener: Option<&Listener>, options: &WriteOptions) -> Written {
    let big = |r: &Rule| {
        r.conds.iter().any(|c| {
            c.value() > MAX_VALUE
                || matches!(c.op(), crate::policy::CmpOp::MaskedEq(m) if m > MAX_VALUE)
        })
    };
    let (mut fit, mut losses) = without_conditions_where(
        policy,
        "Kubernetes (argument values are int64, at most 9223372036854775807)",
        big,
    );
    let outside: Vec<Arch> = fit
        .arches()
        .iter()
        .copied()
        .filter(|a| {
            !ARCHES.contains(&format!("SCMP_ARCH_{}", a.name().to_ascii_uppercase()).as_str())
        })
        .collect();
    for a in &outside {
        fit.remove_arch(*a);
        losses.push(Loss::general(format!(
            "the operator's schema has no {a}: its calls get the bad-arch action"
        )));
    }
    let flags = fit.attrs.flags;
    if flags.tsync_esrch {
        fit.attrs.flags.tsync_esrch = false;
        losses.push(Loss::general(
            "the operator's schema has no SECCOMP_FILTER_FLAG_TSYNC_ESRCH; dropped",
        ));
    }
    if flags.new_listener && !fit.notifies() {
        fit.attrs.flags.new_listener = false;
        losses.push(Loss::general(
            "the operator's schema has no SECCOMP_FILTER_FLAG_NEW_LISTENER; dropped",
        ));
    }
    let (mut spec, more) = docker::write::profile(&fit, listener, Dialect::Oci);
    losses.extend(more);
    // The resource has no defaultErrnoRet: SCMP_ACT_ERRNO as the default is EPERM.
    if let Some(e) = spec.default_errno_ret.take() {
        if e != 1 {
            losses.push(Loss::general(format!(
                "the resource has no defaultErrnoRet: the default ERRNO({e}) becomes EPERM"
            )));
        }
    }
    // NEW_LISTENER follows from SCMP_ACT_NOTIFY; the schema has no word for it.
    if let Some(f) = &mut spec.flags {
        f.retain(|v| *v != "SECCOMP_FILTER_FLAG_NEW_LISTENER");
    }
    if let Some(p) = &spec.listener_path {
        if !valid_listener_path(p) {
            losses.push(Loss::general(format!(
                "the operator only accepts listenerPath under /var/run/security-profiles-operator/; {p:?} will be refused"
            )));
        }
    }
    let mut text = format!(
        "---\napiVersion: {API_GROUP}/v1\nkind: SeccompProfile\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n",
        yaml_str(&options.name),
        yaml_str(&options.namespace)
    );
    spec_yaml(&spec, &mut text);
    let _ = write!(
        text,
        "# Use it in a pod (the operator installs it under the kubelet's seccomp directory):\n\
         # spec:\n#   securityContext:\n#     seccompProfile:\n#       type: Localhost\n\
         #       localhostProfile: {}\n",
        options.localhost_profile()
    );
    losses.sort();
    losses.dedup();
    Written { text, losses }
}

fn valid_listener_path(p: &str) -> bool {
    p.strip_prefix("/var/run/security-profiles-operator/")
        .is_some_and(|f| {
            !f.is_empty()
                && f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
}

/// A YAML scalar for `s`: plain when that reads back as the same string, else JSON-quoted.
fn yaml_str(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        json_str(s)
    }
}

/// The spec in block-style YAML, written straight from the profile (no JSON in between):
/// keys in alphabetical order, two spaces a level, lists as `- ` items.
fn spec_yaml(spec: &docker::write::Profile, out: &mut String) {
    let list = |out: &mut String, key: &str, items: &[&str], pad: &str| {
        if items.is_empty() {
            let _ = writeln!(out, "{pad}{key}: []");
            return;
        }
        let _ = writeln!(out, "{pad}{key}:");
        for item in items {
            let _ = writeln!(out, "{pad}- {}", yaml_str(item));
        }
    };
    let arches: Vec<&str> = spec.architectures.iter().map(String::as_str).collect();
    list(out, "architectures", &arches, "  ");
    let _ = writeln!(out, "  defaultAction: {}", yaml_str(&spec.default_action));
    if let Some(e) = &spec.default_errno {
        let _ = writeln!(out, "  defaultErrno: {}", yaml_str(e));
    }
    if let Some(e) = spec.default_errno_ret {
        let _ = writeln!(out, "  defaultErrnoRet: {e}");
    }
    if let Some(flags) = &spec.flags {
        list(out, "flags", flags, "  ");
    }
    if let Some(m) = &spec.listener_metadata {
        let _ = writeln!(out, "  listenerMetadata: {}", yaml_str(m));
    }
    if let Some(p) = &spec.listener_path {
        let _ = writeln!(out, "  listenerPath: {}", yaml_str(p));
    }
    if spec.syscalls.is_empty() {
        out.push_str("  syscalls: []\n");
        return;
    }
    out.push_str("  syscalls:\n");
    for entry in &spec.syscalls {
        let _ = writeln!(out, "  - action: {}", yaml_str(entry.action));
        if !entry.args.is_empty() {
            out.push_str("    args:\n");
            for a in &entry.args {
                let _ = writeln!(
                    out,
                    "    - index: {}\n      op: {}\n      value: {}\n      valueTwo: {}",
                    a.index,
                    yaml_str(a.op),
                    a.value,
                    a.value_two
                );
            }
        }
        if let Some(e) = &entry.errno {
            let _ = writeln!(out, "    errno: {}", yaml_str(e));
        }
        if let Some(e) = entry.errno_ret {
            let _ = writeln!(out, "    errnoRet: {e}");
        }
        let names: Vec<&str> = entry.names.iter().map(String::as_str).collect();
        list(out, "names", &names, "    ");
    }
}

#[cfg(test)]
mod tests;
