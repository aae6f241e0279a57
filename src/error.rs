//! One error type for the whole crate, in the style of `ort`: a [`ErrorKind`] the caller can match,
//! a message that names the file, field or tensor and what was expected, and a hint to fix it.

use std::fmt;
use std::path::Path;

/// What went wrong, coarse enough to match on and to map onto a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Reading or writing a file failed at the operating-system level.
    Io,
    /// A mesh or series file is corrupt, truncated or in a format variant we do not read.
    MeshFormat,
    /// A field the bundle needs is not in the input.
    MissingField,
    /// A field has the wrong number of components or values.
    FieldShape,
    /// NaN or Inf in coordinates or field values.
    NonFinite,
    /// The mesh does not overlap the bundle's latent grid box (or is empty).
    OutsideGrid,
    /// `manifest.json` is missing, malformed, of an unsupported version or inconsistent.
    Manifest,
    /// An ONNX graph is missing, escapes the bundle, fails its checksum or does not match the manifest.
    BundleGraph,
    /// The ONNX Runtime library is missing, unloadable or too old.
    RuntimeMissing,
    /// A requested execution provider (CUDA) cannot be used.
    Device,
    /// ONNX Runtime failed while running a graph.
    Inference,
    /// The command line asks for something inconsistent (bad parameter, out-of-range value, ...).
    Usage,
    /// The output location cannot be used (exists, not writable).
    Output,
}

impl ErrorKind {
    /// Every kind, in declaration order (the order of the C++ `echo::ErrorKind`).
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::Io,
        ErrorKind::MeshFormat,
        ErrorKind::MissingField,
        ErrorKind::FieldShape,
        ErrorKind::NonFinite,
        ErrorKind::OutsideGrid,
        ErrorKind::Manifest,
        ErrorKind::BundleGraph,
        ErrorKind::RuntimeMissing,
        ErrorKind::Device,
        ErrorKind::Inference,
        ErrorKind::Usage,
        ErrorKind::Output,
    ];

    /// Process exit code for this kind of error; documented in the README.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Usage => 2,
            ErrorKind::MeshFormat | ErrorKind::MissingField | ErrorKind::FieldShape | ErrorKind::NonFinite | ErrorKind::OutsideGrid => 3,
            ErrorKind::Manifest | ErrorKind::BundleGraph => 4,
            ErrorKind::RuntimeMissing | ErrorKind::Device => 5,
            ErrorKind::Inference => 6,
            ErrorKind::Io | ErrorKind::Output => 7,
        }
    }

    /// Short stable name, used in `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::MeshFormat => "mesh-format",
            ErrorKind::MissingField => "missing-field",
            ErrorKind::FieldShape => "field-shape",
            ErrorKind::NonFinite => "non-finite",
            ErrorKind::OutsideGrid => "outside-grid",
            ErrorKind::Manifest => "manifest",
            ErrorKind::BundleGraph => "bundle-graph",
            ErrorKind::RuntimeMissing => "runtime-missing",
            ErrorKind::Device => "device",
            ErrorKind::Inference => "inference",
            ErrorKind::Usage => "usage",
            ErrorKind::Output => "output",
        }
    }
}

/// The crate's error: kind + message + optional hint.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), hint: None }
    }

    /// Attach a hint that tells the user how to fix the problem.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An I/O error on `path`, with the operation named (`"read"`, `"create"`, ...).
    pub fn io(op: &str, path: &Path, err: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("cannot {op} '{}': {err}", path.display()))
    }

    /// Prefix the message (with the file, field or section it is about), keeping kind and hint.
    pub fn context(self, prefix: impl fmt::Display) -> Self {
        Error { message: format!("{prefix}: {}", self.message), ..self }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Shorthand constructors used across the crate: `err!(Manifest, "bad {x}")`.
#[macro_export]
macro_rules! err {
    ($kind:ident, $($arg:tt)*) => {
        $crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)*))
    };
}
