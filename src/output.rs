//! Atomic output: everything a run writes goes into a hidden staging directory beside the target,
//! which is renamed into place only when the whole run succeeded. A failed or interrupted run
//! leaves no partial output (the staging directory is removed when it is dropped).

use std::path::{Path, PathBuf};

use crate::err;
use crate::error::{Error, Result};

pub struct Staging {
    target: PathBuf,
    staging: PathBuf,
    force: bool,
    committed: bool,
}

impl Staging {
    /// Prepare to write the directory `target`. Fails now, before any work, if `target` exists and
    /// `force` is off, or if its parent cannot be written.
    pub fn new(target: &Path, force: bool) -> Result<Staging> {
        if target.exists() && !force {
            return Err(err!(Output, "output directory '{}' already exists", target.display())
                .with_hint("choose another --out, or pass --force to replace it"));
        }
        let name = target.file_name().ok_or_else(|| err!(Output, "'{}' is not a usable output directory name", target.display()))?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io("create", &parent, e).with_hint("check --out"))?;
        let staging = parent.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io("remove stale", &staging, e))?;
        }
        std::fs::create_dir(&staging).map_err(|e| Error::io("create", &staging, e).with_hint("is the output location writable?"))?;
        Ok(Staging { target: target.to_path_buf(), staging, force, committed: false })
    }

    /// Where to write the file `name` now.
    pub fn path(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// The final location of the file `name` once committed.
    pub fn final_path(&self, name: &str) -> PathBuf {
        self.target.join(name)
    }

    /// Move the staged directory into place (replacing an existing one with `force`).
    pub fn commit(mut self) -> Result<PathBuf> {
        if self.target.exists() {
            if !self.force {
                return Err(err!(Output, "output directory '{}' appeared while running", self.target.display()));
            }
            let remove = if self.target.is_dir() { std::fs::remove_dir_all(&self.target) } else { std::fs::remove_file(&self.target) };
            remove.map_err(|e| Error::io("replace", &self.target, e))?;
        }
        std::fs::rename(&self.staging, &self.target).map_err(|e| Error::io("move output into", &self.target, e))?;
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
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
            let s = Staging::new(&target, false).unwrap();
            std::fs::write(s.path("a.txt"), "x").unwrap();
        } // dropped: a failed run
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let s = Staging::new(&target, false).unwrap();
        std::fs::write(s.path("a.txt"), "y").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read_to_string(target.join("a.txt")).unwrap(), "y");
        assert_eq!(Staging::new(&target, false).err().map(|e| e.kind()), Some(crate::ErrorKind::Output));
        let s = Staging::new(&target, true).unwrap();
        std::fs::write(s.path("b.txt"), "z").unwrap();
        s.commit().unwrap();
        assert!(!target.join("a.txt").exists() && target.join("b.txt").exists());
    }
}
