//! Finding, loading and configuring ONNX Runtime.
//!
//! The library is loaded at run time (`ort`'s `load-dynamic`), never downloaded at build time. It is
//! looked for, in order: an explicit path (`--ort-lib`), the `ECHO_ORT_LIB` or `ORT_DYLIB_PATH`
//! environment variable, the project-local Python environments made by `scripts/setup.sh`
//! (`.venv-gpu` first when CUDA is asked for, then `.venv`), and next to the executable.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::ep::{self, ExecutionProvider};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use crate::err;
use crate::error::{Error, Result};

/// Oldest ONNX Runtime minor version the `api-31` bindings accept.
pub const MIN_ORT_MINOR: u32 = 31;

/// Where a graph runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    /// CUDA execution provider on the given GPU; never falls back to CPU silently.
    Cuda(i32),
}

impl Device {
    /// Parse `cpu`, `cuda` or `cuda:N`.
    pub fn parse(s: &str) -> Result<Device> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| err!(Usage, "unknown device '{s}'").with_hint("use 'cpu', 'cuda' or 'cuda:N'")),
        }
    }
}

/// The loaded runtime.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuntimeInfo {
    pub version: String,
    pub path: PathBuf,
    /// How the library was found ("--ort-lib", "ECHO_ORT_LIB", "project .venv", ...).
    pub source: String,
}

/// The process-wide runtime: the loaded library and its environment (sessions need one).
struct Runtime {
    info: RuntimeInfo,
    env: ort::environment::Environment,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Load ONNX Runtime once per process. Later calls return the library loaded first.
pub fn init(explicit: Option<&Path>, device: Device) -> Result<&'static RuntimeInfo> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(&rt.info);
    }
    let (source, path) = locate(explicit, device)?;
    let version = probe_version(&path)?;
    check_version(&version, &path)?;
    if let Device::Cuda(_) = device {
        preload_cuda_libraries(&path)?;
    }
    let env = ort::init_from(&path)
        .map_err(|e| err!(RuntimeMissing, "cannot load ONNX Runtime from '{}': {e}", path.display()).with_hint(SETUP_HINT))?
        .with_name("echo-onnx")
        .with_telemetry(false)
        .build()
        .map_err(|e| err!(RuntimeMissing, "cannot start ONNX Runtime from '{}': {e}", path.display()).with_hint(SETUP_HINT))?;
    let rt = RUNTIME.get_or_init(|| Runtime { info: RuntimeInfo { version, path, source }, env });
    Ok(&rt.info)
}

const SETUP_HINT: &str = "run `scripts/setup.sh` (installs onnxruntime==1.31.1 into the project's .venv), \
     or point --ort-lib / ECHO_ORT_LIB at libonnxruntime.so (1.31 or newer)";

/// The candidate libraries in search order, each with the name of its source.
fn candidates(explicit: Option<&Path>, device: Device) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if let Some(p) = explicit {
        out.push(("--ort-lib".to_string(), p.to_path_buf()));
        return out; // an explicit choice is never second-guessed
    }
    for var in ["ECHO_ORT_LIB", "ORT_DYLIB_PATH"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            out.push((var.to_string(), PathBuf::from(v)));
            return out;
        }
    }
    let venvs: &[&str] = match device {
        Device::Cuda(_) => &[".venv-gpu", ".venv"],
        Device::Cpu => &[".venv", ".venv-gpu"],
    };
    for root in project_roots() {
        for venv in venvs {
            if let Some(lib) = find_in_venv(&root.join(venv)) {
                out.push((format!("project {venv}"), lib));
            }
        }
    }
    if let Some(dir) = exe_dir() {
        if let Some(lib) = find_versioned_lib(&dir) {
            out.push(("next to the executable".to_string(), lib));
        }
    }
    out
}

/// The first candidate, or an error that lists where we looked.
fn locate(explicit: Option<&Path>, device: Device) -> Result<(String, PathBuf)> {
    let found = candidates(explicit, device);
    match found.into_iter().next() {
        Some((source, path)) if path.is_file() => Ok((source, path)),
        Some((source, path)) => Err(err!(RuntimeMissing, "ONNX Runtime library '{}' (from {source}) does not exist", path.display()).with_hint(SETUP_HINT)),
        None => Err(err!(
            RuntimeMissing,
            "ONNX Runtime was not found (looked at --ort-lib, ECHO_ORT_LIB, ORT_DYLIB_PATH, the project's .venv and next to the executable)"
        )
        .with_hint(SETUP_HINT)),
    }
}

/// Directories that may hold the project's virtual environments: the working directory and its
/// parents, the executable's ancestors, and the source tree this binary was built from.
fn project_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Some(dir) = exe_dir() {
        roots.extend(dir.ancestors().take(4).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots.dedup();
    roots
}

fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe().ok()?.parent().map(Path::to_path_buf)
}

/// `<venv>/lib/python3.*/site-packages/onnxruntime/capi/libonnxruntime.so.*`
fn find_in_venv(venv: &Path) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    lib.filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .find_map(|e| find_versioned_lib(&e.path().join("site-packages/onnxruntime/capi")))
}

/// `libonnxruntime.so.X.Y.Z` (or `libonnxruntime.so`) in `dir`.
fn find_versioned_lib(dir: &Path) -> Option<PathBuf> {
    let mut libs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so")))
        .collect();
    libs.sort();
    libs.pop()
}

/// Ask the library for its version without handing it to `ort` (which panics on some failures).
fn probe_version(path: &Path) -> Result<String> {
    // SAFETY: loading ONNX Runtime runs no initialisers with preconditions; the symbol has the
    // documented C signature `const OrtApiBase* OrtGetApiBase(void)`.
    unsafe {
        let lib = libloading::Library::new(path)
            .map_err(|e| err!(RuntimeMissing, "cannot load ONNX Runtime from '{}': {e}", path.display()).with_hint(SETUP_HINT))?;
        type GetApiBase = unsafe extern "C" fn() -> *const ort::sys::OrtApiBase;
        let get: libloading::Symbol<GetApiBase> = lib
            .get(b"OrtGetApiBase")
            .map_err(|_| err!(RuntimeMissing, "'{}' is not an ONNX Runtime library (no OrtGetApiBase)", path.display()).with_hint(SETUP_HINT))?;
        let base = get();
        if base.is_null() {
            return Err(err!(RuntimeMissing, "'{}' returned no API base", path.display()).with_hint(SETUP_HINT));
        }
        let version = CStr::from_ptr(((*base).GetVersionString)()).to_string_lossy().into_owned();
        std::mem::forget(lib); // ort loads the same library again; keep it mapped for the process
        Ok(version)
    }
}

fn check_version(version: &str, path: &Path) -> Result<()> {
    let minor = version.split('.').nth(1).and_then(|m| m.parse::<u32>().ok());
    match minor {
        Some(m) if version.starts_with("1.") && m >= MIN_ORT_MINOR => Ok(()),
        _ => {
            Err(err!(RuntimeMissing, "ONNX Runtime at '{}' is version {version}; echo-onnx needs 1.{MIN_ORT_MINOR} or newer", path.display())
                .with_hint(SETUP_HINT))
        }
    }
}

/// The CUDA provider of the `onnxruntime-gpu` wheel dlopens CUDA and cuDNN libraries that pip
/// installs under `site-packages/nvidia/*/lib`; load them first so the provider finds them without
/// LD_LIBRARY_PATH. Libraries the system already provides are left to the dynamic loader.
fn preload_cuda_libraries(ort_lib: &Path) -> Result<()> {
    let Some(site) = ort_lib.ancestors().nth(3).map(|p| p.join("nvidia")) else { return Ok(()) };
    let lib_dirs: Vec<PathBuf> =
        std::fs::read_dir(&site).map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path().join("lib")).filter(|p| p.is_dir()).collect()).unwrap_or_default();
    for name in ep::cuda::CUDA_DYLIBS.iter().chain(ep::cuda::CUDNN_DYLIBS) {
        if let Some(path) = lib_dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
            // SAFETY: plain shared libraries from NVIDIA's wheels; loaded globally so that the CUDA
            // provider's own dlopen finds them. Kept loaded for the process lifetime.
            unsafe {
                let lib = libloading::os::unix::Library::open(Some(&path), libc_flags())
                    .map_err(|e| err!(Device, "cannot load CUDA library '{}': {e}", path.display()).with_hint(CUDA_HINT))?;
                std::mem::forget(lib);
            }
        }
    }
    Ok(())
}

fn libc_flags() -> std::os::raw::c_int {
    libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL
}

const CUDA_HINT: &str = "run `scripts/setup.sh --gpu` (installs onnxruntime-gpu==1.31.1 and the CUDA 13 / cuDNN 9 \
     wheels into .venv-gpu) on a machine with an NVIDIA driver, or use --device cpu";

/// Names of the execution providers this runtime build offers (CPU always; CUDA with the GPU build).
pub fn available_providers() -> Vec<&'static str> {
    let mut out = vec![];
    if ep::CPU::is_available().unwrap_or(false) {
        out.push(ep::CPU::NAME);
    }
    if ep::CUDA::is_available().unwrap_or(false) {
        out.push(ep::CUDA::NAME);
    }
    out
}

/// Create a session for one graph on `device`. The runtime must have been initialised.
pub fn session(path: &Path, device: Device, threads: Option<usize>) -> Result<Session> {
    let graph_err = |e: ort::Error| err!(BundleGraph, "ONNX Runtime cannot load graph '{}': {e}", path.display());
    let rt = RUNTIME.get().ok_or_else(|| err!(RuntimeMissing, "ONNX Runtime is not initialised").with_hint(SETUP_HINT))?;
    let mut builder = Session::builder(&rt.env)
        .map_err(|e| Error::from_ort(e, path))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| Error::from_ort(e.into(), path))?;
    // Idle ONNX Runtime threads spin by default, taking the cores from the crate's own (rayon) work
    // between graph calls and from a host solver's processes. Measured on a loaded 2-core machine,
    // 100k points, horizon 32: total 6.4-10 s spinning, 3.5-4.1 s not.
    builder = builder.with_intra_op_spinning(false).map_err(|e| Error::from_ort(e.into(), path))?;
    if let Some(n) = threads {
        builder = builder.with_intra_threads(n).map_err(|e| Error::from_ort(e.into(), path))?;
    }
    if let Device::Cuda(id) = device {
        if !ep::CUDA::is_available().unwrap_or(false) {
            return Err(err!(Device, "CUDA was requested but this ONNX Runtime build has no CUDA execution provider").with_hint(CUDA_HINT));
        }
        builder = builder
            .with_execution_providers([ep::CUDA::default().with_device_id(id).build().error_on_failure()])
            .map_err(|e| err!(Device, "cannot use CUDA device {id}: {e}").with_hint(CUDA_HINT))?;
    }
    builder.commit_from_file(path).map_err(graph_err)
}

impl Error {
    fn from_ort(e: ort::Error, path: &Path) -> Error {
        err!(Inference, "ONNX Runtime failed while preparing '{}': {e}", path.display())
    }
}
