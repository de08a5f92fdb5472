//! The `anju` command: serve (default), migrate, create-user, seed-demo, copy-uploads.
use std::io::Read;
use std::process::ExitCode;

use anju::Config;
use anju::domain::account::{NewPassword, PersonName};
use anju::domain::identity::Phone;
use anju::domain::role::Role;
use anju::services::{auth, seed};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "anju",
    version,
    about = "安居 · 居住出租房屋准入管理 (rental housing access permits)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database if needed, then serve HTTP.
    Serve {
        /// Seed the demo town first when the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Apply migrations and exit.
    Migrate,
    /// Create an account.
    CreateUser {
        #[arg(long)]
        role: String,
        #[arg(long)]
        phone: String,
        #[arg(long)]
        name: String,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        /// Village code, for a village official.
        #[arg(long)]
        village: Option<String>,
        /// Grid name, for an inspector (repeat for several grids).
        #[arg(long)]
        grid: Vec<String>,
    },
    /// Seed the demo town into an empty database.
    SeedDemo,
    /// Fill an empty database with a synthetic county (demo town included) for load tests.
    SeedScale {
        #[arg(long)]
        houses: usize,
        /// Stays over the last year (default: five per house).
        #[arg(long)]
        residents: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Create a new permit-signing key and make it current; old keys keep verifying.
    ///
    /// With PostgreSQL and ANJU_MASTER_KEY the key goes into the database's key ring and every
    /// running instance signs with it within seconds.
    RotateSigningKey,
    /// Copy the photos of `ANJU_DATA_DIR/uploads` into the store `ANJU_STORAGE_URL` names, before
    /// an installation switches to shared storage; photos already there are skipped.
    CopyUploads,
    /// Move this data directory's key files into the PostgreSQL key ring (needs ANJU_MASTER_KEY).
    ///
    /// Seals keys/pii.key and keys/permit-signing/key-N.ed25519 into the database with the master
    /// key, so that permits signed and personal data encrypted before keep verifying and
    /// decrypting on every instance. Run it once before the
    /// first start with a master key; running it again changes nothing. The files are left in
    /// place (delete them once every instance runs with the master key).
    ImportKeys,
}

#[rocket::main]
async fn main() -> ExitCode {
    // Before anything is created: the database, its WAL, keys and photos are the owner's alone
    // (files 0600, folders 0700), whatever the service manager's umask.
    // SAFETY: umask only sets this process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    return_large_allocations_at_once();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve { demo: false })).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("anju: {msg}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cmd: Command) -> Result<(), String> {
    let cfg = Config::from_env().map_err(|e| e.to_string())?;
    private_dir(&cfg.data_dir)
        .map_err(|e| format!("无法创建数据目录 {}: {e}", cfg.data_dir.display()))?;
    // With the keys in files, rotating needs no database (as before).
    if matches!(cmd, Command::RotateSigningKey) && rotates_in_files(&cfg)? {
        return rotate_signing_key(&cfg);
    }
    if let Command::CopyUploads = cmd {
        return copy_uploads(&cfg).await;
    }
    let db = anju::db::connect(&cfg)
        .await
        .map_err(|e| format!("无法连接数据库 {}: {e}", redact(&cfg.database_url)))?;
    anju::db::migrate(&db)
        .await
        .map_err(|e| format!("数据库迁移失败: {e}"))?;
    seed::ensure_town(&db, &cfg.town_code, &cfg.town_name)
        .await
        .map_err(cli_error)?;
    match cmd {
        Command::Migrate => {
            println!("数据库已是最新 (migrations applied)");
            Ok(())
        }
        Command::SeedDemo => {
            let seeded = seed::seed_demo(&db).await.map_err(cli_error)?;
            println!(
                "{}",
                if seeded {
                    "演示数据已写入 (demo town seeded)"
                } else {
                    "演示数据已存在，未作改动 (already seeded)"
                }
            );
            Ok(())
        }
        Command::CreateUser {
            role,
            phone,
            name,
            password_stdin,
            village,
            grid,
        } => create_user(&db, &role, &phone, &name, password_stdin, village, grid).await,
        Command::CopyUploads => copy_uploads(&cfg).await,
        Command::RotateSigningKey => rotate_in_database(&cfg, &db).await,
        Command::ImportKeys => {
            let done = anju::crypto::shared::import(&cfg, &db).await?;
            println!(
                "已导入签名密钥 {} 把（已在数据库中 {} 把），个人信息密钥：{} (signing keys imported: {}, already present: {}; personal-data key: {})",
                done.signing_added,
                done.signing_present,
                match done.pii {
                    "present" => "已在数据库中",
                    _ => "数据目录中没有",
                },
                done.signing_added,
                done.signing_present,
                done.pii
            );
            Ok(())
        }
        Command::SeedScale {
            houses,
            residents,
            seed,
        } => {
            let started = std::time::Instant::now();
            let stays = residents.unwrap_or(houses * 5);
            let m = anju::services::seed_scale::seed_scale(&db, houses, stays, seed)
                .await
                .map_err(cli_error)?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "已生成 {} 个村、{} 套房屋、{} 条入住记录，用时 {secs:.1} 秒（{:.0} 套房屋/秒）",
                m.villages,
                m.houses,
                m.stays,
                m.houses as f64 / secs.max(0.001)
            );
            Ok(())
        }
        Command::Serve { demo } => {
            if demo && seed::seed_demo(&db).await.map_err(cli_error)? {
                println!("演示数据已写入：演示账号密码均为 {}", seed::DEMO_PASSWORD);
            }
            let rocket = anju::build(cfg, db).await.map_err(|e| e.to_string())?;
            rocket.launch().await.map(|_| ()).map_err(|e| e.to_string())
        }
    }
}

async fn create_user(
    db: &sea_orm::DatabaseConnection,
    role: &str,
    phone: &str,
    name: &str,
    password_stdin: bool,
    village: Option<String>,
    grids: Vec<String>,
) -> Result<(), String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let role = Role::parse(role).ok_or_else(|| {
        format!(
            "未知角色 {role}（可选 town_admin, village_official, inspector, landlord, api_client）"
        )
    })?;
    if !password_stdin {
        return Err("请用 --password-stdin 从标准输入提供密码".into());
    }
    let mut pw = String::new();
    std::io::stdin()
        .read_to_string(&mut pw)
        .map_err(|e| e.to_string())?;
    let pw = pw.lines().next().unwrap_or("").to_string();
    let village_id = match village {
        Some(code) => Some(
            anju::entities::village::Entity::find()
                .filter(anju::entities::village::Column::Code.eq(code.to_ascii_uppercase()))
                .one(db)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("村编码 {code} 不存在"))?
                .id,
        ),
        None => None,
    };
    let mut grid_ids = Vec::new();
    for g in grids {
        let found = anju::entities::grid::Entity::find()
            .filter(anju::entities::grid::Column::Name.eq(g.as_str()))
            .one(db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("网格 {g} 不存在"))?;
        grid_ids.push(found.id);
    }
    let nu = auth::NewUser {
        role,
        phone: Phone::parse(phone).map_err(|e| format!("手机号: {e}"))?,
        name: PersonName::parse(name).map_err(|e| format!("姓名: {e}"))?,
        password: NewPassword::parse(&pw).map_err(|e| format!("密码: {e}"))?,
        village_id,
        grid_ids,
    };
    let u = auth::create_user(db, None, nu).await.map_err(|e| match e {
        anju::error::AppError::Validation(f) => {
            f.0.values()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join("；")
        }
        other => other.to_string(),
    })?;
    println!("已创建账号 #{} {} ({})", u.id, u.phone, role.label_zh());
    Ok(())
}

/// Adds a key to the data directory's keyring. Running instances sign with the new key after a
/// restart; until then they verify its tokens by re-reading the key directory on demand.
fn rotate_signing_key(cfg: &Config) -> Result<(), String> {
    let dir = cfg.keys_dir().join("permit-signing");
    let mut ring = anju::crypto::signing::PermitKeyring::load_or_create(&dir)
        .map_err(|e| format!("无法读取签名密钥 {}: {e}", dir.display()))?;
    let id = ring
        .rotate()
        .map_err(|e| format!("无法创建签名密钥: {e}"))?;
    println!("已启用新签名密钥 {id}（旧密钥继续用于核验）(new signing key {id} is current)");
    Ok(())
}

/// Whether the signing keys of this configuration are files (SQLite, or no master key).
fn rotates_in_files(cfg: &Config) -> Result<bool, String> {
    let master =
        anju::crypto::master::MasterKey::configured(&cfg.master_key.0, &cfg.master_key_file)
            .map_err(|e| e.to_string())?;
    Ok(cfg.is_sqlite() || master.is_none())
}

/// Adds a key to the database's key ring; running instances pick it up within seconds.
async fn rotate_in_database(cfg: &Config, db: &sea_orm::DatabaseConnection) -> Result<(), String> {
    let keys = anju::crypto::shared::open(cfg, db)
        .await
        .map_err(|e| e.to_string())?;
    let id = keys
        .keyring
        .rotate()
        .await
        .map_err(|e| format!("无法创建签名密钥: {e}"))?;
    println!("已启用新签名密钥 {id}（旧密钥继续用于核验）(new signing key {id} is current)");
    Ok(())
}

/// Creates the data directory 0700, and closes an existing one to others (it may predate the umask).
async fn copy_uploads(cfg: &Config) -> Result<(), String> {
    if cfg.storage_url.is_empty() {
        return Err(
            "未设置 ANJU_STORAGE_URL，照片本就在上传目录中 (set ANJU_STORAGE_URL=s3://… first)"
                .into(),
        );
    }
    let store = anju::storage::PhotoStore::from_config(cfg).map_err(|e| e.to_string())?;
    let (copied, present) = store
        .copy_from_folder(&cfg.uploads_dir())
        .await
        .map_err(|e| format!("复制照片失败: {e}"))?;
    println!(
        "已复制 {copied} 张照片到 {}，{present} 张原已存在 (copied {copied}, {present} already there)",
        store.label()
    );
    Ok(())
}

fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Hides a password in a database URL before it is printed.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

/// On the command line the operator needs the cause, not the friendly page text.
fn cli_error(e: anju::error::AppError) -> String {
    match e {
        anju::error::AppError::Internal(detail) => format!("内部错误: {detail}"),
        other => other.to_string(),
    }
}

/// Each Argon2 hash takes a ~19 MiB block. glibc's dynamic mmap threshold would soon serve such
/// blocks from per-thread arenas that keep the memory after it is freed (100 parallel sign-ins
/// left 668 MB resident with only 2 hashing at a time); a fixed 1 MiB threshold maps each large
/// block and returns it on free (85 MB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_allocations_at_once() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any hashing starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_allocations_at_once() {}
