//! Atomic output: everything a run writes goes into a hidden staging directory beside the target,
//! which is renamed into place only when the whole run succeeded. A failed run leaves no partial
//! output (the staging directory is removed when it is dropped); an interrupted one neither, when the
//! binary called [`clean_up_on_signals`]; and staging directories of runs that died anyway (SIGKILL,
//! power loss) are swept by the next run that writes beside them.
//!
//! `--force` replaces only a directory this tool wrote (it holds the [`MARKER`] file) and never one
//! that holds an input of the run, the current directory or one of its parents.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::err;
use crate::error::{Error, Result};

/// Written into every committed output directory: what `--force` requires before it deletes one.
pub const MARKER: &str = ".echo-onnx-output";

/// Written into a staging directory while it is live: host, pid and process start time of its owner,
/// so that a sweep can tell a dead run's directory from a live one even when the pid was reused.
const OWNER: &str = ".echo-onnx-staging";

/// The staging directories of this process that are neither committed nor removed: what the signal
/// thread removes. Creating, committing and dropping a staging directory hold the lock, so a signal
/// never lands half-way through one of them (the thread waits for the lock, then finds a consistent list).
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves the list valid (every change is one push or retain).
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct Staging {
    target: PathBuf,
    staging: PathBuf,
    force: bool,
    /// The files and directories the run reads: the output must never contain one of them.
    inputs: Vec<PathBuf>,
    committed: bool,
}

impl Staging {
    /// Prepare to write the directory `target`. Fails now, before any work, if `target` cannot be the
    /// output (see [`check_target`]) or its parent cannot be written. `inputs` are the paths the run
    /// reads (input series and the files it names, bundle, query mesh).
    pub fn new(target: &Path, force: bool, inputs: &[PathBuf]) -> Result<Staging> {
        check_target(target, force, inputs, false)?;
        let name = target.file_name().ok_or_else(|| {
            err!(Output, "'{}' is not a usable output directory name", target.display()).with_hint("name the directory to write, e.g. --out out/run1")
        })?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| match file_in_the_way(&parent) {
            Some(file) => blocked_by(target, &file),
            None => Error::io("create", &parent, e).with_hint("check --out"),
        })?;
        sweep_stale(&parent);
        let staging = parent.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
        let mut live = live();
        if live.contains(&staging) {
            return Err(err!(Output, "output directory '{}' is already being written by this process", target.display()));
        }
        if std::fs::symlink_metadata(&staging).is_ok() {
            // Our pid, not ours in this process: left by an earlier process that had the same pid.
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io("remove stale", &staging, e))?;
        }
        // The directory appears under its final name only with its owner record inside, so that a
        // sweep by another run never sees it without one.
        let fresh = parent.join(format!(".{}.partial-{}.new", name.to_string_lossy(), std::process::id()));
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir(&fresh).map_err(|e| Error::io("create", &fresh, e).with_hint("is the output location writable?"))?;
        let made = std::fs::write(fresh.join(OWNER), owner_record()).and_then(|_| std::fs::rename(&fresh, &staging));
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&fresh);
            return Err(Error::io("create", &staging, e).with_hint("is the output location writable?"));
        }
        live.push(staging.clone());
        Ok(Staging { target: target.to_path_buf(), staging, force, inputs: inputs.to_vec(), committed: false })
    }

    /// Where to write the file `name` now.
    pub fn path(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// The final location of the file `name` once committed.
    pub fn final_path(&self, name: &str) -> PathBuf {
        self.target.join(name)
    }

    /// Move the staged directory into place (replacing an earlier output of echo-onnx with `force`).
    /// The target is checked again: it may have changed while the run was working.
    pub fn commit(mut self) -> Result<PathBuf> {
        let mut live = live();
        check_target(&self.target, self.force, &self.inputs, true)?;
        std::fs::write(self.staging.join(MARKER), marker_text()).map_err(|e| Error::io("write", &self.staging.join(MARKER), e))?;
        let _ = std::fs::remove_file(self.staging.join(OWNER));
        if let Ok(meta) = std::fs::symlink_metadata(&self.target) {
            // check_target let it through: an earlier output of ours (or a link to one: only the link goes).
            let remove = if meta.is_dir() { std::fs::remove_dir_all(&self.target) } else { std::fs::remove_file(&self.target) };
            remove.map_err(|e| Error::io("replace", &self.target, e))?;
        }
        std::fs::rename(&self.staging, &self.target).map_err(|e| Error::io("move output into", &self.target, e))?;
        live.retain(|p| p != &self.staging);
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let mut live = live();
            let _ = std::fs::remove_dir_all(&self.staging);
            live.retain(|p| p != &self.staging);
        }
    }
}

fn marker_text() -> String {
    format!("This directory was written by echo-onnx {}.\n`--force` replaces only directories that hold this file.\n", env!("CARGO_PKG_VERSION"))
}

/// Refuse an output directory that would be unsafe or impossible to write: a file (or a file in the
/// way above it), the current directory or one of its parents, a directory holding an input of the
/// run, an existing directory without `force`, and, with `force`, one that echo-onnx did not write.
fn check_target(target: &Path, force: bool, inputs: &[PathBuf], at_commit: bool) -> Result<()> {
    if let Some(file) = file_in_the_way(target) {
        if file == target {
            return Err(err!(Output, "--out '{}' is a file, not a directory", target.display())
                .with_hint("--out names the directory to write the outputs into: choose a directory name"));
        }
        return Err(blocked_by(target, &file));
    }
    if std::fs::symlink_metadata(target).is_err() {
        return Ok(());
    }
    let here = absolute(target);
    if let Ok(cwd) = std::env::current_dir() {
        if absolute(&cwd).starts_with(&here) {
            return Err(err!(Output, "--out '{}' is the current directory or one of its parents", target.display())
                .with_hint("the output directory is replaced as a whole: give a new directory, e.g. --out out/run1"));
        }
    }
    if let Some(input) = inputs.iter().find(|i| absolute(i).starts_with(&here)) {
        return Err(err!(Output, "--out '{}' contains '{}', an input of this run; replacing it would delete the input", target.display(), input.display())
            .with_hint("write the output to a directory of its own, e.g. --out out/run1"));
    }
    if !force {
        if at_commit {
            return Err(
                err!(Output, "output directory '{}' appeared while running", target.display()).with_hint("choose another --out, or pass --force to replace it")
            );
        }
        return Err(err!(Output, "output directory '{}' already exists", target.display()).with_hint("choose another --out, or pass --force to replace it"));
    }
    if !target.join(MARKER).is_file() {
        return Err(err!(Output, "--force refuses to replace '{}': it was not written by echo-onnx (it has no {MARKER} file)", target.display()).with_hint(
            format!(
                "--force replaces only earlier outputs of echo-onnx; choose another --out, or delete '{}' yourself if nothing in it is needed",
                target.display()
            ),
        ));
    }
    Ok(())
}

/// The path with symbolic links and `..` resolved, as far as it exists (the rest appended as given),
/// so that two spellings of one place compare equal.
fn absolute(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => absolute(parent).join(name),
        (_, Some(name)) => std::env::current_dir().map(|d| absolute(&d).join(name)).unwrap_or_else(|_| path.to_path_buf()),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// The first existing path, from `path` itself upwards, if it is not a directory: what makes
/// creating `path` fail with "File exists" or "Not a directory".
fn file_in_the_way(path: &Path) -> Option<PathBuf> {
    for p in path.ancestors().filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(p) {
            Ok(meta) => return (!meta.is_dir()).then(|| p.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(20 /* ENOTDIR */) => continue,
            Err(_) => return None,
        }
    }
    None
}

fn blocked_by(target: &Path, file: &Path) -> Error {
    err!(Output, "cannot create output directory '{}': '{}' is a file, not a directory", target.display(), file.display())
        .with_hint("choose an --out whose parent directories are directories (or can be created)")
}

/// What identifies this process to a sweep by another run: host, pid and start time.
fn owner_record() -> String {
    let pid = std::process::id();
    // No start line when /proc cannot tell: a made-up one would later read as a reused pid.
    let start = process_start(pid).map(|s| format!("start {s}\n")).unwrap_or_default();
    format!("host {}\npid {pid}\n{start}", host_name())
}

/// Remove the staging directories `.NAME.partial-PID` in `dir` whose run is dead. Best effort: a
/// failure here must not stop the run that is starting.
fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(staging_pid) else { continue };
        // file_type does not follow links: a link named like a staging directory is left alone.
        if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let path = entry.path();
        if !owner_alive(pid, &path) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// The pid in a staging directory's name `.NAME.partial-PID`.
fn staging_pid(name: &str) -> Option<u32> {
    let (stem, pid) = name.rsplit_once(".partial-")?;
    if !stem.starts_with('.') || stem.len() < 2 || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // kill() treats 0 and negative pids as process groups: such a name is not one of ours.
    pid.parse::<u32>().ok().filter(|&p| p > 0 && p <= i32::MAX as u32)
}

/// Whether the run that owns the staging directory `path` (named with `pid`) may still be running.
/// In doubt (another host, unreadable records) it is alive: a live run's directory is never touched.
fn owner_alive(pid: u32, path: &Path) -> bool {
    if pid == std::process::id() {
        let live = live();
        return live.iter().any(|p| p == path || absolute(p) == absolute(path));
    }
    let record = std::fs::read_to_string(path.join(OWNER)).unwrap_or_default();
    let field = |key: &str| record.lines().find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()));
    if let Some(host) = field("host ") {
        if host != host_name() {
            return true; // a shared file system: the pid means nothing here
        }
    }
    if !pid_alive(pid) {
        return false;
    }
    // The pid lives; it is the owner unless the recorded start time says the pid was reused since.
    match (field("start ").and_then(|s| s.parse::<u64>().ok()), process_start(pid)) {
        (Some(recorded), Some(now)) => recorded == now,
        _ => true,
    }
}

#[cfg(unix)]
fn pid_alive(pid: u32) -> bool {
    // Signal 0 checks existence without sending anything; EPERM means it exists but is not ours.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn pid_alive(_pid: u32) -> bool {
    true // cannot tell: never sweep
}

/// The start time of process `pid` in clock ticks since boot (field 22 of /proc/PID/stat; Linux).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces and ')': split after the last one.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").or_else(|_| std::fs::read_to_string("/etc/hostname")).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Make SIGINT, SIGTERM and SIGHUP remove the live staging directories, then exit with 128 + the
/// signal's number. For the command-line binary; call it first thing in `main`, before any thread
/// exists. The library never calls it: a host program (an OpenFOAM solver) owns its signals.
///
/// Why a thread that waits with sigwait instead of a signal handler: a handler may only call
/// async-signal-safe functions, and removing a directory tree allocates and takes the lock of the
/// live list. Blocked in every thread (the mask is inherited by the threads started later: rayon's
/// and ONNX Runtime's), the signals are delivered only to the waiting thread, which cleans up as
/// ordinary code. No new dependency beyond libc (already in the tree through other crates).
#[cfg(unix)]
pub fn clean_up_on_signals() {
    use std::mem::MaybeUninit;
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(set.as_mut_ptr(), sig);
        }
        let set = set.assume_init();
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, old.as_mut_ptr()) != 0 {
            return;
        }
        let old = old.assume_init();
        let waiter = std::thread::Builder::new().name("signals".into()).spawn(move || loop {
            let mut sig = 0;
            if libc::sigwait(&set, &mut sig) == 0 {
                on_signal(sig);
            }
        });
        if waiter.is_err() {
            // Nobody would receive them: give the signals back their default (kill the process).
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
    }
}

#[cfg(not(unix))]
pub fn clean_up_on_signals() {}

#[cfg(unix)]
fn on_signal(sig: i32) -> ! {
    // Holding the lock: a staging directory being created, committed or dropped finishes first, and
    // none is created after. Writers still running in other threads fail once their directory is gone.
    let live = live();
    for dir in live.iter() {
        // A writer may add a file between the listing and the final rmdir (ENOTEMPTY): try again.
        for _ in 0..20 {
            if std::fs::remove_dir_all(dir).is_ok() || std::fs::symlink_metadata(dir).is_err() {
                break;
            }
        }
    }
    let name = match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "SIGHUP",
    };
    let note = format!("\ninterrupted by {name}: {} unfinished output(s) removed\n", live.len());
    unsafe {
        libc::write(2, note.as_ptr().cast(), note.len());
        // _exit, not exit: exit would run ONNX Runtime's static destructors while its threads may still
        // be computing; there is nothing left to flush (the outputs are gone).
        libc::_exit(128 + sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_staging_leaves_nothing_and_commit_moves_everything() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        {
            let s = Staging::new(&target, false, &[]).unwrap();
            std::fs::write(s.path("a.txt"), "x").unwrap();
        } // dropped: a failed run
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let s = Staging::new(&target, false, &[]).unwrap();
        std::fs::write(s.path("a.txt"), "y").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read_to_string(target.join("a.txt")).unwrap(), "y");
        assert!(target.join(MARKER).is_file() && !target.join(OWNER).exists());
        assert_eq!(Staging::new(&target, false, &[]).err().map(|e| e.kind()), Some(crate::ErrorKind::Output));
        let s = Staging::new(&target, true, &[]).unwrap();
        std::fs::write(s.path("b.txt"), "z").unwrap();
        s.commit().unwrap();
        assert!(!target.join("a.txt").exists() && target.join("b.txt").exists());
    }

    fn message(r: Result<impl Sized>) -> String {
        r.err().map(|e| e.message().to_string()).unwrap_or_default()
    }

    #[test]
    fn unsafe_targets_are_refused_before_any_work_and_again_at_commit() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let file = d.join("file.txt");
        std::fs::write(&file, "x").unwrap();
        for force in [false, true] {
            assert!(message(Staging::new(&file, force, &[])).contains("is a file, not a directory"));
            assert!(message(Staging::new(&file.join("a/b"), force, &[])).contains(&format!("'{}' is a file", file.display())));
        }
        assert!(message(Staging::new(Path::new("."), true, &[])).contains("current directory"));
        let data = d.join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join(MARKER), "").unwrap();
        std::fs::write(data.join("in.vtu"), "").unwrap();
        assert!(message(Staging::new(&data, true, &[data.join("in.vtu")])).contains("an input of this run"));
        assert!(message(Staging::new(d, true, &[data.join("in.vtu")])).contains("an input of this run"));
        assert!(Staging::new(&data, true, &[d.join("elsewhere.vtu")]).is_ok(), "a marked output without inputs is replaceable");
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 2, "refusals left something behind");

        // Something of the user's appears at the target while the run works: commit refuses it too.
        let out = d.join("out");
        let s = Staging::new(&out, true, &[]).unwrap();
        std::fs::write(s.path("frame.vtu"), "new").unwrap();
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("keep.txt"), "mine").unwrap();
        assert!(message(s.commit()).contains("not written by echo-onnx"));
        assert_eq!(std::fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
        let s = Staging::new(&d.join("late"), true, &[]).unwrap();
        std::fs::write(d.join("late"), "a file").unwrap();
        assert!(message(s.commit()).contains("is a file"));
        let mut left: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["data", "file.txt", "late", "out"], "a refused commit left its staging directory");
    }

    #[test]
    fn sweep_removes_dead_runs_only() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let alive = sleeper.id();
        let me = std::process::id();
        let start = process_start(alive).expect("/proc is readable");
        let record = |host: &str, start: u64| format!("host {host}\npid 0\nstart {start}\n");
        let cases = [
            (format!(".a.partial-{dead}"), None, false),
            (format!(".b.partial-{alive}"), None, true),
            (format!(".c.partial-{alive}"), Some(record(&host_name(), start)), true),
            // The pid was reused by another process since the record was written.
            (format!(".d.partial-{alive}"), Some(record(&host_name(), start + 1)), false),
            // Another host on a shared file system: its pids mean nothing here.
            (format!(".e.partial-{dead}"), Some(record("elsewhere", 1)), true),
            // Our own pid, not live in this process: an earlier process with the same pid.
            (format!(".f.partial-{me}"), None, false),
            (".g.partial-0".to_string(), None, true),
            (".h.partial-".to_string(), None, true),
            ("i.partial-1".to_string(), None, true),
        ];
        for (name, record, _) in &cases {
            std::fs::create_dir(d.join(name)).unwrap();
            if let Some(r) = record {
                std::fs::write(d.join(name).join(OWNER), r).unwrap();
            }
        }
        // A live staging directory of this process (created through Staging) is kept.
        let s = Staging::new(&d.join("g"), false, &[]).unwrap();
        sweep_stale(d);
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        for (name, _, kept) in &cases {
            assert_eq!(d.join(name).exists(), *kept, "{name}");
        }
        assert!(s.path("").is_dir());
        let record = std::fs::read_to_string(s.path(OWNER)).unwrap();
        assert!(record.contains(&format!("pid {me}\nstart {}\n", process_start(me).unwrap())), "{record}");
        assert_eq!(staging_pid(".out.partial-123"), Some(123));
        assert_eq!(staging_pid(".out.partial-99999999999"), None);
    }
}
