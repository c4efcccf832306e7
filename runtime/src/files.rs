//! Files written so that a crash never leaves a half-written one: [`write_atomic`] writes a
//! temporary file beside the target (`<name>.tmp-<pid>`), syncs it and renames it over the
//! target. Checkpoints, histories and plots all go through it.
//!
//! A process killed between creating the temporary file and renaming it leaves the temporary
//! behind. Each write therefore first removes the temporary files of the same target that
//! belong to processes that no longer exist (on Linux, whose `/proc` says which are alive;
//! elsewhere, those older than a day), so litter does not pile up in an output folder.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The temporary file [`write_atomic`] uses for `path` in this process.
pub fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed and
/// synced, then renamed over `path` (and the directory synced where the platform allows). On
/// any error the temporary file is removed and an existing `path` is untouched. Stale
/// temporaries of `path` left by killed processes are removed first ([`remove_stale`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if path.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ));
    }
    remove_stale(path);
    let tmp = temporary(path);
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.flush()?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the temporary may not exist (creating it may have failed).
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable; not every platform can sync a directory, so a failure
    // here does not undo a write that has already happened.
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes the temporary files of `path` (`<name>.tmp-<pid>`) whose process is gone, and
/// returns how many it removed. Those of this process and of live processes are kept.
pub fn remove_stale(path: &Path) -> usize {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return 0;
    };
    let prefix = format!("{name}.tmp-");
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id()
            && !alive(pid, &entry.path())
            && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Whether the process `pid`, which wrote `tmp`, may still be writing it.
fn alive(pid: u32, tmp: &Path) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return proc.join(pid.to_string()).exists();
    }
    let age = fs::metadata(tmp)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    age.is_none_or(|a| a < Duration::from_secs(24 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = std::env::temp_dir().join(format!("nnspec-files-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("model.safetensors");
        // A pid above the kernel's maximum (2^22) is never alive; process 1 always is.
        let dead = dir.join("model.safetensors.tmp-4194999");
        let live = dir.join("model.safetensors.tmp-1");
        let other = dir.join("history.csv.tmp-4194999");
        for f in [&dead, &live, &other] {
            fs::write(f, b"partial").unwrap();
        }
        write_atomic(&target, b"whole").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"whole");
        if Path::new("/proc/self").exists() {
            assert!(!dead.exists(), "a dead process's temporary is left");
            assert!(live.exists(), "a live process's temporary was removed");
        }
        assert!(other.exists(), "another target's temporary was removed");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
