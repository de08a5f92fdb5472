//! Secret key files: created once with random bytes, readable only by the owner.

use rand::RngCore;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Reads the secret at `path`, or creates it with `len` random bytes when it does not exist.
///
/// The new key is written to a private temporary file and then hard-linked into place: the link
/// fails if another process got there first, so two processes starting together never clobber
/// each other's key and never read a half-written one; the loser reads the winner's file.
pub fn load_or_create_secret(path: &Path, len: usize) -> io::Result<Vec<u8>> {
    match read_secret(path, len) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        other => return other,
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;

    let mut secret = vec![0u8; len];
    rand::rng().fill_bytes(&mut secret);
    let tmp = dir.join(format!(
        ".{}.{:016x}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
        rand::rng().next_u64()
    ));
    let written = write_private(&tmp, &secret).and_then(|()| fs::hard_link(&tmp, path));
    // The temporary name has served its purpose whatever happened.
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => {
            // Best effort: the key is in place and readable either way; this only makes the
            // new directory entry survive a power cut.
            let _ = File::open(dir).and_then(|d| d.sync_all());
            Ok(secret)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read_secret(path, len),
        Err(e) => Err(e),
    }
}

fn read_secret(path: &Path, len: usize) -> io::Result<Vec<u8>> {
    let bytes = fs::read(path)?;
    if bytes.len() != len {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!(
                "key file {} holds {} bytes, expected {len}",
                path.display(),
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_secret_is_random_and_readable_only_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/sub/master.key");
        let a = load_or_create_secret(&path, 32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, vec![0u8; 32]);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let other = load_or_create_secret(&dir.path().join("other.key"), 32).unwrap();
        assert_ne!(a, other);
    }

    #[test]
    fn an_existing_secret_is_read_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = load_or_create_secret(&path, 32).unwrap();
        assert_eq!(load_or_create_secret(&path, 32).unwrap(), first);
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files are left behind");
    }

    #[test]
    fn a_secret_of_the_wrong_length_is_an_error_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.key");
        fs::write(&path, b"too short").unwrap();
        let err = load_or_create_secret(&path, 32).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(fs::read(&path).unwrap(), b"too short");
    }

    #[test]
    fn racing_creators_all_end_up_with_the_same_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raced.key");
        let results: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create_secret(&path, 32).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(results.iter().all(|r| r == &results[0]));
        assert_eq!(fs::read(&path).unwrap(), results[0]);
    }
}
