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
//! A file may hold several documents (`---`); each `SeccompProfile` becomes one [`Document`];
//! other kinds are skipped with a warning. The `spec` is checked against the operator's schema
//! with YAML positions (`file:line:column`): `defaultAction` is required; `architectures` and
//! `flags` take the operator's enumerations; `errnoRet` and `index` are non-negative 32-bit
//! integers; `value` and `valueTwo` non-negative 64-bit **signed** integers (Kubernetes has no
//! unsigned type, so nothing above 9223372036854775807); at most six `args`; `names` not empty.
//! Then the spec is read as runc reads the JSON the operator writes.
//!
//! `baseProfileName` unions the base profile's `syscalls` into this one (recursively, at most 15
//! levels, as the operator does). The base is looked up by `metadata.name` in the same file,
//! then in [`Options::base`]: a file, or a directory of `.yaml`/`.yml` files. Remote
//! (`oci://`) base profiles are not fetched.
//!
//! # Writing
//!
//! [`write`](fn@write) emits the custom resource and, as comments, the pod `securityContext` that uses
//! it: the operator installs a profile as `operator/<namespace>/<name>.json` under the
//! kubelet's seccomp directory, which is what `localhostProfile` names. What the resource cannot
//! hold is given up on the restrictive side and listed: conditions with values above the
//! int64 limit, architectures and flags outside the operator's enumerations, and whatever the
//! OCI profile itself cannot hold ([`super::docker_write`]).
//!
//! ```
//! use sysgate::policy::Action;
//! use sysgate::profile::{k8s, Target};
//! use sysgate::Arch;
//!
//! let yaml = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n\
//!             metadata:\n  name: demo\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  \
//!             - action: SCMP_ACT_ALLOW\n    names: [read, write]\n";
//! let docs = k8s::parse(yaml, "p.yaml", &Target::new(Arch::X86_64), &k8s::Options::default())?;
//! assert_eq!(docs[0].name, "demo");
//! let policy = &docs[0].loaded.policy;
//! assert_eq!(policy.decide(Arch::X86_64, 0, &[0; 6]).action, Action::Allow);
//! assert_eq!(policy.rules()[0].origin.as_deref(), Some("p.yaml:8:5"));
//! # Ok::<(), k8s::K8sError>(())
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::docker_write::{self, Dialect};
use super::write::{without_conditions_where, Loss, Written};
use super::{docker, Listener, Loaded, Location, Target};
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
/// let err = k8s::parse(yaml, "p.yaml", &Target::new(Arch::X86_64), &Default::default()).unwrap_err();
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
    /// let err = k8s::parse(yaml, "p", &Target::new(Arch::X86_64), &Default::default()).unwrap_err();
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
/// use sysgate::profile::k8s::Options;
///
/// assert!(Options::default().base.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// A file, or a directory of `.yaml`/`.yml` files, holding base profiles.
    pub base: Option<PathBuf>,
    /// An unknown top-level or `metadata` field is an error instead of a warning (the
    /// operator's schema already refuses unknown fields inside `spec`).
    pub strict_keys: bool,
}

impl Options {
    /// Base profiles from `path` (a file or a directory).
    ///
    /// ```
    /// use sysgate::profile::k8s::Options;
    ///
    /// assert!(Options::with_base("profiles/").base.is_some());
    /// ```
    pub fn with_base(path: impl Into<PathBuf>) -> Options {
        Options {
            base: Some(path.into()),
            strict_keys: false,
        }
    }
}

/// One `SeccompProfile` of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, if given.
    pub namespace: Option<String>,
    /// The policy, warnings and listener.
    pub loaded: Loaded,
}

/// Read every `SeccompProfile` in `text` for `target`. `source` names the file in errors and
/// rule origins.
///
/// ```
/// use sysgate::profile::{k8s, Target};
/// use sysgate::Arch;
///
/// let yaml = "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\n\
///             metadata:\n  name: all\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n---\n\
///             apiVersion: v1\nkind: ConfigMap\n";
/// let docs = k8s::parse(yaml, "p", &Target::new(Arch::X86_64), &Default::default())?;
/// assert_eq!(docs.len(), 1);
/// # Ok::<(), k8s::K8sError>(())
/// ```
pub fn parse(
    text: &str,
    source: &str,
    target: &Target,
    options: &Options,
) -> Result<Vec<Document>, K8sError> {
    let file = File::load(text, source)?;
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
        let entries = resolve_bases(&file, &obj, options, &mut seen)?;
        let (json, map) = to_json(&file, &obj, &entries)?;
        let loaded = docker::parse(&json, JSON_SOURCE, target).map_err(|e| map.error(e))?;
        let mut loaded = map.loaded(loaded);
        if i == 0 {
            loaded
                .warnings
                .splice(0..0, file.warnings.borrow_mut().drain(..));
        }
        out.push(Document {
            name: obj.name.clone(),
            namespace: obj.namespace.clone(),
            loaded,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The YAML tree with positions.
// ---------------------------------------------------------------------------------------------

/// A YAML node reduced to what the resource uses.
#[derive(Clone, Debug)]
enum Value {
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
    Str(String),
    Int(i64),
    /// Anything else (a float, a boolean, null, an integer out of range), described.
    Other(&'static str),
}

#[derive(Clone, Debug)]
struct Node {
    value: Value,
    line: usize,
    column: usize,
}

impl Node {
    fn from_yaml(y: &MarkedYaml<'_>) -> Node {
        let (line, column) = (y.span.start.line(), y.span.start.col() + 1);
        let value = match &y.data {
            YamlData::Value(s) => scalar(s),
            YamlData::Representation(s, _, _) => Value::Str(s.to_string()),
            YamlData::Sequence(items) => Value::Seq(items.iter().map(Node::from_yaml).collect()),
            YamlData::Mapping(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| {
                        let key = match &k.data {
                            YamlData::Value(Scalar::String(s)) => s.to_string(),
                            YamlData::Value(other) => format!("{other:?}"),
                            _ => String::new(),
                        };
                        (key, Node::from_yaml(v))
                    })
                    .collect(),
            ),
            YamlData::Tagged(_, inner) => return Node::from_yaml(inner),
            YamlData::Alias(_) => Value::Other("an alias"),
            _ => Value::Other("an invalid value"),
        };
        Node {
            value,
            line,
            column,
        }
    }

    fn describe(&self) -> String {
        match &self.value {
            Value::Map(_) => "a mapping".into(),
            Value::Seq(_) => "a list".into(),
            Value::Str(s) => format!("{s:?}"),
            Value::Int(i) => i.to_string(),
            Value::Other(what) => (*what).into(),
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
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

/// A parsed file: its documents as trees.
struct File<'a> {
    source: &'a str,
    docs: Vec<Node>,
    warnings: std::cell::RefCell<Vec<String>>,
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
        let docs = MarkedYaml::load_from_str(text).map_err(|e| K8sError::Syntax {
            at: Location::new(source, e.marker().line().max(1), e.marker().col() + 1),
            message: e.info().to_string(),
        })?;
        Ok(File {
            source,
            docs: docs.iter().map(Node::from_yaml).collect(),
            warnings: Default::default(),
        })
    }

    fn at(&self, n: &Node) -> Location {
        Location::new(self.source, n.line, n.column)
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

/// Entry `index` of the `syscalls` of `spec`, a profile's spec from file `source` (the
/// profile itself or one of its bases).
struct SourcedEntry {
    spec: std::rc::Rc<SourcedSpec>,
    index: usize,
}

/// A spec and the file it is in.
struct SourcedSpec {
    source: String,
    spec: Node,
}

/// A file's documents, kept while a base profile is looked for and read.
struct OwnedFile {
    source: String,
    docs: Vec<Node>,
}

fn resolve_bases(
    file: &File<'_>,
    obj: &Object<'_>,
    options: &Options,
    seen: &mut Vec<String>,
) -> Result<Vec<SourcedEntry>, K8sError> {
    // The profile's own entries come first; the bases' follow (order does not matter).
    let own = std::rc::Rc::new(SourcedSpec {
        source: file.source.to_string(),
        spec: obj.spec.clone(),
    });
    let mut out: Vec<SourcedEntry> = entry_count(file, obj.spec)?
        .map(|index| SourcedEntry {
            spec: own.clone(),
            index,
        })
        .collect();
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
        let (base_file, doc) = find_base(file, &base, &at, options)?;
        let f = File {
            source: &base_file.source,
            docs: base_file.docs.clone(),
            warnings: Default::default(),
        };
        let spec = f.docs[doc].get("spec").expect("found profiles have a spec");
        let count = entry_count(&f, spec)?;
        let obj_base = f.profile(&f.docs[doc])?.and_then(|o| o.base);
        let sourced = std::rc::Rc::new(SourcedSpec {
            source: base_file.source.clone(),
            spec: spec.clone(),
        });
        out.extend(count.map(|index| SourcedEntry {
            spec: sourced.clone(),
            index,
        }));
        seen.push(base);
        next = obj_base;
    }
    Ok(out)
}

fn entry_count(file: &File<'_>, spec: &Node) -> Result<std::ops::Range<usize>, K8sError> {
    match spec.get("syscalls") {
        None => Ok(0..0),
        Some(s) if matches!(s.value, Value::Other("null")) => Ok(0..0),
        Some(s) => Ok(0..file.seq(s, "syscalls")?.len()),
    }
}

/// The file and document index of the base profile called `name`.
fn find_base(
    file: &File<'_>,
    name: &str,
    at: &Location,
    options: &Options,
) -> Result<(OwnedFile, usize), K8sError> {
    let in_file = |f: &File<'_>| -> Result<Option<usize>, K8sError> {
        for (i, d) in f.docs.iter().enumerate() {
            if let Some(o) = f.profile(d)? {
                if o.name == name {
                    return Ok(Some(i));
                }
            }
        }
        Ok(None)
    };
    if let Some(i) = in_file(file)? {
        return Ok((
            OwnedFile {
                source: file.source.to_string(),
                docs: file.docs.clone(),
            },
            i,
        ));
    }
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
                .collect();
            files.sort();
            candidates.extend(files);
        } else {
            candidates.push(base.clone());
        }
    }
    for path in candidates {
        let text = std::fs::read_to_string(&path).map_err(|e| K8sError::Base {
            at: at.clone(),
            path: path.clone(),
            message: e.to_string(),
        })?;
        let source = path.display().to_string();
        let f = File::load(&text, &source)?;
        if let Some(i) = in_file(&f)? {
            return Ok((
                OwnedFile {
                    source: source.clone(),
                    docs: f.docs,
                },
                i,
            ));
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

// ---------------------------------------------------------------------------------------------
// The spec as the JSON the operator writes, one value a line, with each line's YAML position.
// ---------------------------------------------------------------------------------------------

/// The source name of the intermediate JSON; never shown (locations are mapped back).
const JSON_SOURCE: &str = "\u{0}k8s-json";

/// JSON line (1-based) to YAML location.
struct LineMap {
    lines: Vec<Location>,
}

impl LineMap {
    fn map(&self, at: &Location) -> Location {
        self.lines
            .get(at.line.saturating_sub(1))
            .cloned()
            .unwrap_or_else(|| self.lines.first().cloned().unwrap_or(at.clone()))
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
                    out.push_str(&self.map(&Location::new("", l, 1)).to_string());
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
        let at = self.map(e.location());
        let text = e.to_string();
        let message = text
            .split_once(": ")
            .map(|(_, m)| self.map_text(m))
            .unwrap_or(text);
        K8sError::Invalid { at, message }
    }

    fn loaded(&self, mut l: Loaded) -> Loaded {
        l.warnings = l.warnings.iter().map(|w| self.map_text(w)).collect();
        l.default_origin = l.default_origin.as_deref().map(|o| self.map_text(o));
        let mut policy = l.policy.clone();
        let rules: Vec<Rule> = policy
            .rules()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.origin = r.origin.as_deref().map(|o| self.map_text(o));
                r
            })
            .collect();
        let mut fresh = super::write::empty_like(&policy);
        for r in rules {
            // The rules were valid a moment ago.
            let _ = fresh.add_rule(r);
        }
        policy = fresh;
        l.policy = policy;
        l
    }
}

struct Emit {
    text: String,
    lines: Vec<Location>,
}

impl Emit {
    fn line(&mut self, s: &str, at: Location) {
        self.text.push_str(s);
        self.text.push('\n');
        self.lines.push(at);
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn to_json(
    file: &File<'_>,
    obj: &Object<'_>,
    entries: &[SourcedEntry],
) -> Result<(String, LineMap), K8sError> {
    let spec = obj.spec;
    let spec_at = file.at(spec);
    let mut e = Emit {
        text: String::new(),
        lines: Vec::new(),
    };
    e.line("{", spec_at.clone());
    for (key, value) in file.map(spec, "spec")? {
        let at = file.at(value);
        match key.as_str() {
            "defaultAction" => {
                let s = file.string(value, "defaultAction")?;
                e.line(&format!("\"defaultAction\": {},", json_str(s)), at);
            }
            "architectures" => {
                e.line("\"architectures\": [", at);
                let items = file.seq(value, "architectures")?;
                for (i, a) in items.iter().enumerate() {
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
                    if s == "SCMP_ARCH_NATIVE" {
                        continue;
                    }
                    let comma = if i + 1 < items.len() { "," } else { "" };
                    e.line(&format!("{}{comma}", json_str(s)), file.at(a));
                }
                // A NATIVE skipped last leaves a trailing comma, removed below.
                e.line("],", file.at(value));
            }
            "flags" => {
                e.line("\"flags\": [", at);
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
                    e.line(&format!("{}{comma}", json_str(s)), file.at(f));
                }
                e.line("],", file.at(value));
            }
            "listenerPath" | "listenerMetadata" => {
                let s = file.string(value, key)?;
                e.line(&format!("{}: {},", json_str(key), json_str(s)), at);
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
    e.line("\"syscalls\": [", spec_at.clone());
    for (n, entry) in entries.iter().enumerate() {
        let f = File {
            source: &entry.spec.source,
            docs: Vec::new(),
            warnings: Default::default(),
        };
        let spec = &entry.spec.spec;
        let list = f.seq(spec.get("syscalls").expect("counted"), "syscalls")?;
        let item = &list[entry.index];
        emit_entry(&f, item, &mut e)?;
        let last = n + 1 == entries.len();
        e.line(if last { "}" } else { "}," }, f.at(item));
    }
    e.line("]", spec_at.clone());
    e.line("}", spec_at);
    // Empty architectures after dropping NATIVE leave "[\n],": valid JSON either way; but a
    // trailing comma before "]" is not, so remove ",\n]" pairs.
    let text = e.text.replace(",\n],", "\n],").replace(",\n]\n", "\n]\n");
    Ok((text, LineMap { lines: e.lines }))
}

fn emit_entry(f: &File<'_>, item: &Node, e: &mut Emit) -> Result<(), K8sError> {
    let fields = f.map(item, "a syscalls entry")?;
    e.line("{", f.at(item));
    let mut first = true;
    let mut sep = |e: &mut Emit, at: Location| {
        if !first {
            e.line(",", at);
        }
        first = false;
    };
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
    for (key, value) in fields {
        let at = f.at(value);
        match key.as_str() {
            "action" => {
                sep(e, at.clone());
                let s = f.string(value, "action")?;
                e.line(&format!("\"action\": {}", json_str(s)), at);
            }
            "errnoRet" => {
                sep(e, at.clone());
                let n = f.int(value, "errnoRet", i32::MAX as u64)?;
                e.line(&format!("\"errnoRet\": {n}"), at);
            }
            "names" => {
                sep(e, at.clone());
                let items = f.seq(names, "names")?;
                if items.is_empty() {
                    return Err(f.invalid(names, "names is empty: expected at least one syscall name"));
                }
                e.line("\"names\": [", at.clone());
                for (i, n) in items.iter().enumerate() {
                    let s = f.string(n, "a syscall name")?;
                    let comma = if i + 1 < items.len() { "," } else { "" };
                    e.line(&format!("{}{comma}", json_str(s)), f.at(n));
                }
                e.line("]", at);
            }
            "args" => {
                sep(e, at.clone());
                let items = f.seq(value, "args")?;
                if items.len() > 6 {
                    return Err(f.invalid(value, format!("{} args: expected at most 6", items.len())));
                }
                e.line("\"args\": [", at.clone());
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
                    e.line(&format!("{{{}}}{comma}", parts.join(", ")), f.at(a));
                }
                e.line("]", at);
            }
            other => {
                return Err(f.invalid(
                    value,
                    format!("unknown field {other:?} in a syscalls entry: expected names, action, errnoRet or args"),
                ))
            }
        }
    }
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
    if flags.new_listener && !uses_notify(&fit) {
        fit.attrs.flags.new_listener = false;
        losses.push(Loss::general(
            "the operator's schema has no SECCOMP_FILTER_FLAG_NEW_LISTENER; dropped",
        ));
    }
    let inner = docker_write::write_dialect(&fit, listener, Dialect::Oci);
    losses.extend(inner.losses);
    let json: serde_json::Value =
        serde_json::from_str(&inner.text).expect("the OCI writer writes JSON");
    let mut spec = json;
    if let Some(obj) = spec.as_object_mut() {
        // The resource has no defaultErrnoRet: SCMP_ACT_ERRNO as the default is EPERM.
        if let Some(e) = obj.remove("defaultErrnoRet").and_then(|e| e.as_u64()) {
            if e != 1 {
                losses.push(Loss::general(format!(
                    "the resource has no defaultErrnoRet: the default ERRNO({e}) becomes EPERM"
                )));
            }
        }
        // NEW_LISTENER follows from SCMP_ACT_NOTIFY; the schema has no word for it.
        if let Some(serde_json::Value::Array(f)) = obj.get_mut("flags") {
            f.retain(|v| v != "SECCOMP_FILTER_FLAG_NEW_LISTENER");
        }
        if let Some(p) = obj.get("listenerPath").and_then(|p| p.as_str()) {
            if !valid_listener_path(p) {
                losses.push(Loss::general(format!(
                    "the operator only accepts listenerPath under /var/run/security-profiles-operator/; {p:?} will be refused"
                )));
            }
        }
    }
    let mut text = format!(
        "---\napiVersion: {API_GROUP}/v1\nkind: SeccompProfile\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n",
        yaml_str(&options.name),
        yaml_str(&options.namespace)
    );
    yaml(&spec, 1, &mut text);
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

fn uses_notify(p: &Policy) -> bool {
    p.default_action() == crate::policy::Action::UserNotif
        || p.rules()
            .iter()
            .any(|r| r.action == crate::policy::Action::UserNotif)
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

/// Block-style YAML for a JSON value, `depth` levels in.
fn yaml(v: &serde_json::Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::Object(_) => {
                        let _ = writeln!(out, "{pad}{k}:");
                        yaml(v, depth + 1, out);
                    }
                    serde_json::Value::Array(items) if items.is_empty() => {
                        let _ = writeln!(out, "{pad}{k}: []");
                    }
                    serde_json::Value::Array(items) => {
                        let _ = writeln!(out, "{pad}{k}:");
                        for item in items {
                            seq_item(item, depth, out);
                        }
                    }
                    scalar => {
                        let _ = writeln!(out, "{pad}{k}: {}", yaml_scalar(scalar));
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", yaml_scalar(other));
        }
    }
}

fn seq_item(item: &serde_json::Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match item {
        serde_json::Value::Object(_) => {
            let mut inner = String::new();
            yaml(item, depth + 1, &mut inner);
            // The first line of the mapping goes after "- ".
            let body = inner.trim_start_matches(' ');
            let _ = write!(out, "{pad}- {body}");
        }
        scalar => {
            let _ = writeln!(out, "{pad}- {}", yaml_scalar(scalar));
        }
    }
}

fn yaml_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => yaml_str(s),
        other => other.to_string(),
    }
}

/// The unique names of `docs`, for "expected one of" messages.
pub fn names(docs: &[Document]) -> Vec<String> {
    let set: BTreeSet<String> = docs.iter().map(|d| d.name.clone()).collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests;
