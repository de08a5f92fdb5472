//! Tests of permit signing: what verifies, what does not, and key rotation.

use super::*;
use std::os::unix::fs::PermissionsExt;

fn fields() -> PermitSigningFields {
    PermitSigningFields {
        number: "HJ-JX-2026-000123".into(),
        valid_until: NaiveDate::from_ymd_opt(2027, 5, 31).unwrap(),
        max_occupants: 6,
    }
}

fn ring() -> (tempfile::TempDir, PermitKeyring) {
    let dir = tempfile::tempdir().unwrap();
    let ring = PermitKeyring::load_or_create(&dir.path().join("keys/permit-signing")).unwrap();
    (dir, ring)
}

#[test]
fn a_signed_permit_verifies_with_a_short_url_safe_token() {
    let (_dir, ring) = ring();
    let token = ring.sign(&fields());
    assert!(ring.verify(&fields(), &token));
    assert!(token.len() <= 95, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
        "{token}"
    );
    assert!(token.starts_with(&format!("{}.", ring.current_key_id().unwrap())));
}

#[test]
fn the_signed_message_is_the_documented_canonical_string() {
    assert_eq!(
        fields().canonical_message(),
        "anju-permit-v1|HJ-JX-2026-000123|2027-05-31|6"
    );
}

#[test]
fn changing_any_signed_field_breaks_the_signature() {
    let (_dir, ring) = ring();
    let token = ring.sign(&fields());
    let other_number = PermitSigningFields {
        number: "HJ-JX-2026-000124".into(),
        ..fields()
    };
    let later = PermitSigningFields {
        valid_until: NaiveDate::from_ymd_opt(2028, 5, 31).unwrap(),
        ..fields()
    };
    let more = PermitSigningFields {
        max_occupants: 7,
        ..fields()
    };
    for f in [other_number, later, more] {
        assert!(!ring.verify(&f, &token), "{f:?}");
    }
}

#[test]
fn a_tampered_signature_is_refused() {
    let (_dir, ring) = ring();
    let token = ring.sign(&fields());
    let (id, sig) = token.split_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes[10] ^= 0x01;
    let tampered = format!("{id}.{}", URL_SAFE_NO_PAD.encode(&bytes));
    assert!(!ring.verify(&fields(), &tampered));
    // The same signature under an id we do not have.
    assert!(!ring.verify(&fields(), &format!("00000000.{sig}")));
}

#[test]
fn garbage_tokens_are_refused_without_panicking() {
    let (_dir, ring) = ring();
    let token = ring.sign(&fields());
    let long = "a".repeat(10_000);
    let (id, sig) = token.split_once('.').unwrap();
    let truncated = format!("{id}.{}", &sig[..sig.len() - 2]);
    for bad in [
        "",
        ".",
        "abc",
        "abcdefgh.",
        "abcdefgh.!!!!",
        "长长长长.长长长长",
        long.as_str(),
        truncated.as_str(),
        &format!("{token}="),
        &format!("{token}.x"),
        &format!(".{sig}"),
    ] {
        assert!(!ring.verify(&fields(), bad), "{bad}");
    }
}

#[test]
fn after_rotation_old_tokens_verify_and_new_tokens_use_the_new_key() {
    let (dir, mut ring) = ring();
    let old_id = ring.current_key_id().unwrap().to_string();
    let old_token = ring.sign(&fields());
    let new_id = ring.rotate().unwrap();
    assert_ne!(old_id, new_id);
    assert_eq!(ring.current_key_id(), Some(new_id.as_str()));
    assert!(ring.verify(&fields(), &old_token));
    let new_token = ring.sign(&fields());
    assert!(new_token.starts_with(&format!("{new_id}.")));
    assert!(ring.verify(&fields(), &new_token));
    let keys_dir = dir.path().join("keys/permit-signing");
    assert!(keys_dir.join("key-1.ed25519").exists() && keys_dir.join("key-2.ed25519").exists());

    let listed = ring.public_keys();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (listed[0].key_id.as_str(), listed[0].current),
        (new_id.as_str(), true)
    );
    assert_eq!(
        (listed[1].key_id.as_str(), listed[1].current),
        (old_id.as_str(), false)
    );
}

#[test]
fn reloading_from_disk_gives_the_same_keys() {
    let (dir, mut ring) = ring();
    ring.rotate().unwrap();
    let token = ring.sign(&fields());
    let again = PermitKeyring::load_or_create(&dir.path().join("keys/permit-signing")).unwrap();
    assert_eq!(again.public_keys(), ring.public_keys());
    assert!(again.verify(&fields(), &token));
    assert_eq!(
        again.sign(&fields()),
        token,
        "Ed25519 signatures are deterministic"
    );
}

#[test]
fn key_files_are_private_and_unrelated_files_are_ignored() {
    let (dir, _ring) = ring();
    let keys_dir = dir.path().join("keys/permit-signing");
    let mode = fs::metadata(keys_dir.join("key-1.ed25519"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    fs::write(keys_dir.join("README"), "not a key").unwrap();
    fs::write(keys_dir.join("key-x.ed25519"), "not a key").unwrap();
    let again = PermitKeyring::load_or_create(&keys_dir).unwrap();
    assert_eq!(again.public_keys().len(), 1);
}

#[test]
fn public_keys_serialise_for_the_api() {
    let (_dir, ring) = ring();
    let json = serde_json::to_value(ring.public_keys()).unwrap();
    let first = &json[0];
    assert_eq!(first["algorithm"], "Ed25519");
    assert_eq!(first["current"], true);
    assert_eq!(first["key_id"].as_str().unwrap().len(), 8);
    let pk = URL_SAFE_NO_PAD
        .decode(first["public_key_b64url"].as_str().unwrap())
        .unwrap();
    assert_eq!(pk.len(), 32);
}

#[test]
fn a_ring_from_seeds_signs_with_the_highest_index_and_matches_the_files_it_came_from() {
    let (dir, mut ring) = ring();
    ring.rotate().unwrap();
    let seeds = file_seeds(&dir.path().join("keys/permit-signing")).unwrap();
    assert_eq!(seeds.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2]);
    // Given in any order, the ring sorts by index; the same seeds make the same keys.
    let reversed: Vec<_> = seeds.iter().rev().copied().collect();
    let from_db = PermitKeyring::from_seeds(&reversed);
    assert_eq!(from_db.max_index(), 2);
    assert_eq!(from_db.public_keys(), ring.public_keys());
    assert_eq!(
        from_db.current_key_id(),
        Some(key_id_of_seed(&seeds[1].1).as_str())
    );
    assert!(ring.verify(&fields(), &from_db.sign(&fields())));
    assert!(file_seeds(&dir.path().join("nowhere")).unwrap().is_empty());
}
