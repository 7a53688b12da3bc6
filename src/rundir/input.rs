//! Reading files whose size nobody vouches for: a file in a run, experiment or sweep directory
//! may have been edited, replaced by a symlink to `/dev/zero`, a FIFO, or a sparse file of a
//! terabyte. Every such read goes through [`read_limited`], which refuses anything but a regular
//! file of at most a stated size and reserves its buffer fallibly, so a hostile file is an
//! error naming it — never a hang on a FIFO, an endless read, or an aborted allocation.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

/// Largest JSON metadata file read (`manifest.json`, `run.json`, `sweep.json`,
/// `experiment.json`); a real manifest of 4096 countries is a few MB.
pub const MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;
/// Largest input table read (`calibrate-baseline --targets`, observed-data CSVs); the shipped
/// ones are a few kB.
pub const MAX_TABLE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest data file read back (`countries.csv`, `world.csv`, `series.npz`, `results*.csv`,
/// `summary.csv`, `runs.csv`, checkpoints): more than any run within the validated output bounds
/// writes (see [`crate::scenario::check::MAX_OUTPUT_VALUES`]).
pub const MAX_DATA_BYTES: u64 = 64 * 1024 * 1024 * 1024;

fn refuse(kind: io::ErrorKind, message: String) -> io::Error {
    io::Error::new(kind, message)
}

/// The bytes of the regular file at `path` (symlinks are followed), refusing a file larger than
/// `limit` bytes, anything that is not a regular file, and a file whose buffer cannot be
/// allocated.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(refuse(
            io::ErrorKind::InvalidInput,
            "not a regular file".into(),
        ));
    }
    if meta.len() > limit {
        return Err(refuse(
            io::ErrorKind::InvalidData,
            format!(
                "{} bytes; such a file holds at most {limit} bytes",
                meta.len()
            ),
        ));
    }
    let len = usize::try_from(meta.len())
        .map_err(|_| refuse(io::ErrorKind::OutOfMemory, "too large to read".into()))?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| {
        refuse(
            io::ErrorKind::OutOfMemory,
            format!("cannot allocate {len} bytes to read it"),
        )
    })?;
    // `take`: a file that grows while it is read still stops at the limit.
    fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(refuse(
            io::ErrorKind::InvalidData,
            format!("grew beyond {limit} bytes while being read"),
        ));
    }
    Ok(bytes)
}

/// [`read_limited`] of a UTF-8 text file.
pub fn read_limited_string(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_limited(path, limit)?).map_err(|e| {
        refuse(
            io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_small_regular_file() {
        let dir = std::env::temp_dir().join(format!("tf-input-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let small = dir.join("small");
        fs::write(&small, b"abc").unwrap();
        assert_eq!(read_limited(&small, 3).unwrap(), b"abc");
        assert!(read_limited(&small, 2)
            .unwrap_err()
            .to_string()
            .contains("3 bytes; such a file holds at most 2 bytes"));
        // A sparse terabyte: refused from its size, nothing allocated.
        let huge = dir.join("huge");
        fs::File::create(&huge).unwrap().set_len(1 << 40).unwrap();
        assert!(read_limited(&huge, MAX_DATA_BYTES).is_err());
        assert!(read_limited(&dir, 10)
            .unwrap_err()
            .to_string()
            .contains("not a regular file"));
        #[cfg(unix)]
        {
            let zero = dir.join("zero");
            std::os::unix::fs::symlink("/dev/zero", &zero).ok();
            assert!(read_limited(&zero, 10)
                .unwrap_err()
                .to_string()
                .contains("not a regular file"));
        }
        fs::write(&small, [0xff, 0xfe]).unwrap();
        assert!(read_limited_string(&small, 10)
            .unwrap_err()
            .to_string()
            .contains("not UTF-8"));
        fs::remove_dir_all(&dir).ok();
    }
}
