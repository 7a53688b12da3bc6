//! One writer per directory: before a run, an experiment or a sweep shard writes into its
//! directory it takes an exclusive advisory lock ([`std::fs::File::try_lock`], `flock` on Unix)
//! on a lock file there, and holds it until it is done.
//!
//! A second process that wants the same directory fails at once with
//! [`OutputError::Busy`], naming the holder's pid, instead of interleaving its files with the
//! first one's (two `run`s into one new `--out` used to both succeed and leave a manifest that
//! described neither). The operating system releases the lock when its holder exits in any way,
//! `kill -9` included, so a lock file left behind is not stale: the next process simply takes
//! it. Nothing needs cleaning up by hand, and no pid is ever guessed dead.
//!
//! On a file system that cannot lock at all (flock fails with ENOSYS, EOPNOTSUPP or ENOLCK, as on
//! Lustre mounted without `flock`), [`acquire`] succeeds without a lock: talentflow then runs as
//! it did before it locked, rather than refuse to run there.
//!
//! The lock file is removed when the lock is released. A process that opened it just before
//! (and so holds a lock on a file no longer in the directory) notices that the path no longer
//! names the file it locked and starts over; a lock file that is a symlink is refused, so the
//! pid written into it never lands outside the directory.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::rundir::write::OutputError;

/// Name of the lock file of a run or experiment directory (and of a sweep directory while it
/// is prepared).
pub const LOCK: &str = ".talentflow.lock";

/// A held lock; released (and its file removed) when dropped.
#[derive(Debug)]
#[must_use = "the directory is claimed only while the lock is held"]
pub struct DirLock {
    file: File,
    path: PathBuf,
    /// False on a file system that cannot lock (see [`acquire`]).
    held: bool,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `path` (not following a symlink) is the file `file` has open.
#[cfg(unix)]
fn names(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::symlink_metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.file_type().is_file() && a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn names(path: &Path, _file: &File) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// Takes the lock file `name` in `dir` (which must exist); `dir` names the directory in the
/// error when another process holds it.
pub fn acquire(dir: &Path, name: &str) -> Result<DirLock, OutputError> {
    let path = dir.join(name);
    for _ in 0..16 {
        if let Ok(meta) = fs::symlink_metadata(&path) {
            if !meta.file_type().is_file() {
                return Err(OutputError::Io {
                    path: path.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "is not a lock file (a symlink, directory or device); remove it",
                    ),
                });
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = crate::rundir::input::read_limited_string(&path, 4096)
                    .ok()
                    .and_then(|t| {
                        t.lines()
                            .find_map(|l| l.strip_prefix("pid ").map(|p| p.trim().to_string()))
                    })
                    .filter(|p| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty());
                return Err(OutputError::Busy {
                    dir: dir.to_path_buf(),
                    holder: holder.map_or_else(|| "another process".into(), |p| format!("pid {p}")),
                });
            }
            // A file system without locks (Lustre mounted without `flock`, some FUSE systems):
            // go on unlocked, as talentflow did before it locked, rather than refuse to run.
            Err(TryLockError::Error(e)) if cannot_lock(&e) => {
                return Ok(DirLock {
                    file,
                    path,
                    held: false,
                })
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
        if !names(&path, &file) {
            // Released and removed by its holder between our open and our lock: start over.
            continue;
        }
        let mut f = &file;
        f.set_len(0).map_err(io_err(&path))?;
        f.write_all(format!("pid {}\n", std::process::id()).as_bytes())
            .map_err(io_err(&path))?;
        return Ok(DirLock {
            file,
            path,
            held: true,
        });
    }
    Err(OutputError::Busy {
        dir: dir.to_path_buf(),
        holder: "other processes, repeatedly,".into(),
    })
}

/// Whether a lock failed because the file system has no locks at all (ENOSYS, EOPNOTSUPP,
/// ENOLCK), not because of a holder or a real I/O error.
fn cannot_lock(e: &std::io::Error) -> bool {
    const ENOLCK: i32 = 37; // Linux; elsewhere the kind below covers the usual cases
    e.kind() == std::io::ErrorKind::Unsupported
        || (cfg!(target_os = "linux") && e.raw_os_error() == Some(ENOLCK))
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if !self.held {
            return; // shared with whoever else runs unlocked here: left in place
        }
        // Removed while still held, so whoever opens it afterwards sees it is gone (see above).
        if names(&self.path, &self.file) {
            fs::remove_file(&self.path).ok();
        }
        self.file.unlock().ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_directory_is_refused_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("tf-lock-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let held = acquire(&dir, LOCK).unwrap();
        let text = fs::read_to_string(dir.join(LOCK)).unwrap();
        assert_eq!(text, format!("pid {}\n", std::process::id()));
        // flock locks belong to the open file, so a second open in this process conflicts too.
        let err = acquire(&dir, LOCK).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())) && err.contains("is writing"),
            "{err}"
        );
        drop(held);
        assert!(!dir.join(LOCK).exists());
        // A lock file left by a killed process (no holder) is simply taken.
        fs::write(dir.join(LOCK), "pid 999999999\n").unwrap();
        let again = acquire(&dir, LOCK).unwrap();
        drop(again);
        #[cfg(unix)]
        {
            let outside = dir.join("outside");
            fs::write(&outside, "keep").unwrap();
            std::os::unix::fs::symlink(&outside, dir.join(LOCK)).unwrap();
            assert!(acquire(&dir, LOCK)
                .unwrap_err()
                .to_string()
                .contains("is not a lock file"));
            assert_eq!(fs::read_to_string(&outside).unwrap(), "keep");
        }
        fs::remove_dir_all(&dir).ok();
    }
}
