//! Server memory under two floods (issue 8): 100 parallel wrong sign-ins, and 8 parallel uploads
//! of 64-megapixel and 48-megapixel PNGs. Each flood runs against a fresh `anju serve` (demo
//! town, SQLite, scheduler off), so its `VmHWM` (peak resident memory) is that flood's alone.
//!
//! `cargo bench --bench floods`; `ANJU_BENCH_BIN=/path/to/anju` measures another build (e.g. the
//! code before the fix). The goal is a peak under 512 MiB for every flood.
//!
//! Measured on the dev-profile binary (2 shared cores), VmHWM: 8×64 MP 3740 MiB before, 158 MiB
//! after (refused from the header); 8×48 MP 2449 MiB before, 365 MiB after (decoded one at a time
//! within the budget); 100 sign-ins ≈2 GiB either way until the Argon2 semaphore lands.
#[path = "../tests/support/server.rs"]
mod server;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use server::{Server, memory_kib};

const LANDLORD: &str = "13900000004";
const DEMO_PASSWORD: &str = "anju-demo";
const GOAL_MIB: u64 = 512;

fn black_rgb_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::new(w, h))
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode png");
    out
}

fn start(bin: &Path) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let url = format!("sqlite://{}?mode=rwc", data.join("anju.db").display());
    // The per-account and per-address limits would answer 429 before any hashing; the flood
    // measures what the hashing costs, so they are lifted here.
    let s = Server::start(
        bin,
        &data,
        Some(&url),
        &[
            ("ANJU_LOGIN_ACCOUNT_LIMIT", "1000000"),
            ("ANJU_LOGIN_IP_LIMIT", "1000000"),
            ("ANJU_PUBLIC_RATE_PER_MINUTE", "1000000"),
        ],
    );
    (dir, s)
}

struct Outcome {
    name: &'static str,
    statuses: Vec<u16>,
    before_kib: u64,
    peak_rss_kib: u64,
    hwm_kib: u64,
    after_kib: u64,
    seconds: f64,
}

/// Runs `n` copies of `one` at once against a fresh server, sampling its memory every 5 ms.
fn flood(
    bin: &Path,
    name: &'static str,
    n: usize,
    one: impl Fn(&Server, &str) -> u16 + Sync,
) -> Outcome {
    let (_dir, s) = start(bin);
    let token = s.token(LANDLORD, DEMO_PASSWORD);
    let pid = s.pid();
    let before_kib = memory_kib(pid).map_or(0, |m| m.0);
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(before_kib));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some((rss, _)) = memory_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let t0 = Instant::now();
    let statuses: Vec<u16> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..n).map(|_| sc.spawn(|| one(&s, &token))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    let seconds = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let (after_kib, hwm_kib) = memory_kib(pid).unwrap_or((0, 0));
    Outcome {
        name,
        statuses,
        before_kib,
        peak_rss_kib: peak.load(Ordering::Relaxed).max(after_kib),
        hwm_kib,
        after_kib,
        seconds,
    }
}

fn summary(statuses: &[u16]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for s in statuses {
        *counts.entry(*s).or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n}×{s}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let bin = std::env::var_os("ANJU_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_anju")));
    println!("floods against {}", bin.display());
    let png64 = black_rgb_png(8000, 8000);
    let png48 = black_rgb_png(8000, 6000);
    println!(
        "64-MP PNG {} KiB, 48-MP PNG {} KiB (all black, RGB)",
        png64.len() / 1024,
        png48.len() / 1024
    );
    let outcomes = [
        flood(&bin, "100 parallel wrong sign-ins", 100, |s, _| {
            s.post_json(
                "/api/v1/auth/login",
                None,
                &format!(r#"{{"phone":"{LANDLORD}","password":"wrong-password"}}"#),
            )
            .map_or(0, |r| r.0)
        }),
        flood(&bin, "8 parallel 64-MP uploads", 8, |s, token| {
            s.upload(token, &png64).map_or(0, |r| r.0)
        }),
        flood(&bin, "8 parallel 48-MP uploads", 8, |s, token| {
            s.upload(token, &png48).map_or(0, |r| r.0)
        }),
    ];
    println!(
        "\n{:<30} {:>9} {:>9} {:>9} {:>9} {:>7}  answers",
        "flood", "before", "peak RSS", "VmHWM", "after", "secs"
    );
    let mut ok = true;
    for o in &outcomes {
        let mib = |k: u64| format!("{} MiB", k / 1024);
        println!(
            "{:<30} {:>9} {:>9} {:>9} {:>9} {:>7.1}  {}",
            o.name,
            mib(o.before_kib),
            mib(o.peak_rss_kib),
            mib(o.hwm_kib),
            mib(o.after_kib),
            o.seconds,
            summary(&o.statuses)
        );
        ok &= o.hwm_kib / 1024 <= GOAL_MIB;
    }
    println!(
        "\ngoal: peak ≤ {GOAL_MIB} MiB under every flood — {}",
        if ok { "met" } else { "NOT met" }
    );
}
