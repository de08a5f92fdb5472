//! `anju rotate-signing-key`: adds a key to the data directory; the old one stays to verify.
use std::process::Command;

#[test]
fn rotating_from_the_command_line_adds_a_current_key_and_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_anju"))
            .arg("rotate-signing-key")
            .env("ANJU_DATA_DIR", dir.path())
            .env_remove("ANJU_DATABASE_URL")
            .output()
            .expect("run anju")
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("已启用新签名密钥"));
    run();
    let keys = dir.path().join("keys/permit-signing");
    let ring = anju::crypto::signing::PermitKeyring::load_or_create(&keys).unwrap();
    let public = ring.public_keys();
    assert_eq!(public.len(), 3, "the first key plus two rotations");
    assert!(public[0].current && !public[1].current && !public[2].current);
}
