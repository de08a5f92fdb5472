//! End to end in a real browser: Debian's chromium driven through chromedriver (fantoccini),
//! against a real `anju serve`, at phone width. A landlord applies; a grid worker walks a
//! checklist with one failure and a photo; the same kind of walk with the network off (CDP
//! `Network.emulateNetworkConditions`) and back on ends with exactly one inspection; the official
//! approves; a tenant checks in. Failures leave a screenshot in `ANJU_BROWSER_SHOTS` (CI prints
//! the folder). Without chromedriver the suite says why and skips, unless `CI` is set.
mod common;
#[path = "support/server.rs"]
mod server;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anju::domain::checklist::ItemKind;
use anju::entities::{grid, inspection, permit, stay};
use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use sea_orm::{
    ColumnTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn chromedriver() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join("chromedriver"))
        .find(|p| p.is_file())
}

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// chromedriver on a free port, waited for until it answers.
fn start_driver(bin: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let d = Driver { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen in 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    d
}

/// A Chrome DevTools command through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.0, "params": self.1}).to_string()),
        )
    }
}

async fn network(c: &Client, online: bool) -> Res<()> {
    c.issue_cmd(Cdp("Network.enable", json!({}))).await?;
    c.issue_cmd(Cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": !online, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    ))
    .await?;
    Ok(())
}

struct Ctx {
    c: Client,
    base: String,
    db: DatabaseConnection,
    server: server::Server,
    files: PathBuf,
}

impl Ctx {
    async fn go(&self, path: &str) -> Res<()> {
        Ok(self.c.goto(&format!("{}{path}", self.base)).await?)
    }
    async fn el(&self, css: &str) -> Res<fantoccini::elements::Element> {
        Ok(self
            .c
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await?)
    }
    async fn fill(&self, css: &str, text: &str) -> Res<()> {
        let e = self.el(css).await?;
        e.clear().await?;
        Ok(e.send_keys(text).await?)
    }
    async fn click(&self, css: &str) -> Res<()> {
        let e = self.el(css).await?;
        self.c
            .execute(
                "arguments[0].scrollIntoView({block:'center'})",
                vec![serde_json::to_value(&e)?],
            )
            .await?;
        Ok(e.click().await?)
    }
    /// Clicks something that loads a new page and waits for that page.
    async fn click_nav(&self, css: &str) -> Res<()> {
        self.js("window.__anjuOld = true; return true").await?;
        self.click(css).await?;
        self.until(
            "the next page",
            "window.__anjuOld === undefined && document.readyState === 'complete'",
        )
        .await?;
        Ok(())
    }
    async fn js(&self, script: &str) -> Res<Value> {
        Ok(self.c.execute(script, vec![]).await?)
    }
    /// Polls `script` (a JS expression) until it is truthy.
    async fn until(&self, what: &str, script: &str) -> Res<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // A page that navigates or reloads (the service worker taking over, a form posting)
            // while the script runs makes chromedriver answer "script timeout": ask again.
            let v = match self
                .c
                .execute_async(&format!("const done = arguments[arguments.length - 1]; Promise.resolve().then(async () => ({script})).then(done, () => done(null));"), vec![])
                .await
            {
                Ok(v) => v,
                Err(e) if Instant::now() <= deadline => {
                    eprintln!("waiting for {what}: {e}; asking again");
                    Value::Null
                }
                Err(e) => return Err(e.into()),
            };
            if !(v.is_null() || v == json!(false) || v == json!(0) || v == json!("")) {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for {what}").into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    async fn path(&self) -> Res<String> {
        Ok(self.c.current_url().await?.path().to_string())
    }
    async fn sign_in(&self, phone: &str) -> Res<()> {
        self.c.delete_all_cookies().await?;
        self.go("/login").await?;
        self.fill("input[name=phone]", phone).await?;
        self.fill("input[name=password]", DEMO_PASSWORD).await?;
        self.click_nav("form button[type=submit]").await?;
        self.until("signed in", "location.pathname !== '/login'")
            .await?;
        Ok(())
    }
    fn token(&self, phone: &str) -> String {
        self.server.token(phone, DEMO_PASSWORD)
    }
    fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Res<Value> {
        let auth = format!("Bearer {token}");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (s, out) = self.server.request(
            method,
            &format!("/api/v1{path}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )?;
        let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        if s >= 300 {
            return Err(format!("{method} {path}: {s} {v}").into());
        }
        Ok(v)
    }
    async fn inspections_of(&self, task: i32) -> Res<u64> {
        Ok(inspection::Entity::find()
            .filter(inspection::Column::TaskId.eq(task))
            .count(&self.db)
            .await?)
    }
}

/// A photo as a phone takes it: 4000×3000, detailed enough that JPEG cannot shrink it much.
fn phone_photo(dir: &Path, n: u32) -> PathBuf {
    // Smooth shading with a little sensor noise: about what a 12-megapixel phone photo weighs.
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        let noise = (x.wrapping_mul(31) ^ y.wrapping_mul(17) ^ n.wrapping_mul(7919))
            .wrapping_mul(2654435761)
            >> 27;
        let shade = |v: u32| (v % 200 + noise) as u8;
        image::Rgb([shade(x / 20 + n * 40), shade(y / 15), shade((x + y) / 40)])
    });
    let path = dir.join(format!("phone-{n}.jpg"));
    let mut f = std::fs::File::create(&path).expect("photo file");
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 92);
    enc.encode_image(&img).expect("encode photo");
    f.flush().ok();
    path
}

/// A landlord's submitted application in 锦绣村第一网格, through the API, for the walks.
async fn application_via_api(cx: &Ctx, landlord: &str, address: &str) -> Res<i32> {
    let g = grid::Entity::find()
        .filter(grid::Column::Name.eq("锦绣村第一网格"))
        .one(&cx.db)
        .await?
        .ok_or("grid")?;
    let h = cx.api("POST", "/properties", landlord, Some(json!({"village_id": g.village_id, "grid_id": g.id, "address": address,
        "floors": 2, "structure": "brick_concrete", "rooms": [{"label": "101", "floor": 1, "area_m2": 16, "kind": "bedroom"}]})))?;
    let a = cx.api(
        "POST",
        "/applications",
        landlord,
        Some(json!({"property_id": h["id"]})),
    )?;
    let id = a["id"].as_i64().ok_or("application id")? as i32;
    for (i, kind) in ["ownership_proof", "house_photo"].iter().enumerate() {
        let (ct, body) = multipart(&[], &png(40 + i as u32, 30));
        let auth = format!("Bearer {landlord}");
        let (s, out) = cx.server.request(
            "POST",
            "/api/v1/photos",
            &[("Authorization", &auth), ("Content-Type", &ct.to_string())],
            &body,
        )?;
        let p: Value = serde_json::from_slice(&out)?;
        assert!(s < 300, "{p}");
        cx.api(
            "POST",
            &format!("/applications/{id}/documents"),
            landlord,
            Some(json!({"kind": kind, "photo_id": p["id"]})),
        )?;
    }
    cx.api(
        "POST",
        &format!("/applications/{id}/submit"),
        landlord,
        Some(json!({"pledge_accepted": true,
        "owner_name": "王房东", "ownership_doc_no": "浙(2020)花街镇不动产权第0001234号"})),
    )?;
    Ok(id)
}

/// The inspection task a submitted application got, waited for while the page submits.
async fn task_of(cx: &Ctx, application: i32) -> Res<i32> {
    use anju::entities::inspection_task as t;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(t) = t::Entity::find()
            .filter(t::Column::ApplicationId.eq(application))
            .one(&cx.db)
            .await?
        {
            return Ok(t.id);
        }
        if Instant::now() > deadline {
            return Err(format!("application {application} got no inspection task").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Fills the walk: 其余全部合格 for the tick items, values for numbers and choices; `fail` fails
/// with a note; `photos` go on the items at those positions.
async fn fill_walk(cx: &Ctx, fail: Option<&str>, photos: &[(usize, PathBuf)]) -> Res<()> {
    let c = checklist_v1();
    cx.el("#walk-form").await?;
    cx.click("button[value=pass_rest]").await?;
    for (i, item) in c.items().enumerate() {
        match &item.kind {
            ItemKind::Number { min, max, .. } => {
                cx.fill(&format!("#v{i}"), &min.or(*max).unwrap_or(1.0).to_string())
                    .await?
            }
            ItemKind::Choice { options } => {
                let ok = options
                    .iter()
                    .find(|o| !o.fails)
                    .ok_or("a passing option")?;
                cx.el(&format!("#v{i}"))
                    .await?
                    .select_by_value(&ok.key)
                    .await?;
            }
            _ => {}
        }
        if fail == Some(item.key.as_str()) {
            cx.click(&format!("input[name='a[{i}].result'][value=fail]"))
                .await?;
            cx.fill(&format!("#n{i}"), "插线板串接使用").await?;
        }
    }
    for (i, p) in photos {
        cx.el(&format!("#p{i}"))
            .await?
            .send_keys(&p.display().to_string())
            .await?;
        cx.until(
            "the photo downscaled",
            &format!("document.querySelector('#item-{i} .queued-photo img') !== null"),
        )
        .await?;
    }
    // Script errors are kept so a failure can say what broke.
    cx.js("window.__errs = []; addEventListener('error', (e) => __errs.push(e.message)); addEventListener('unhandledrejection', (e) => __errs.push(String(e.reason))); return true").await?;
    // The verdict of a number follows its value.
    let v = cx.js("return document.querySelector('fieldset[data-kind=number] output.verdict').textContent").await?;
    assert_eq!(v, json!("判定：合格"));
    Ok(())
}

async fn scenario(cx: &Ctx) -> Res<()> {
    let c = checklist_v1();
    // 1. The landlord applies through the pages.
    cx.sign_in(LANDLORD).await?;
    cx.go("/landlord/houses/new").await?;
    let g = grid::Entity::find()
        .filter(grid::Column::Name.eq("锦绣村第一网格"))
        .one(&cx.db)
        .await?
        .ok_or("grid")?;
    cx.el("#grid_id")
        .await?
        .select_by_value(&g.id.to_string())
        .await?;
    cx.fill("#address", "锦绣村东区 18 号").await?;
    cx.fill("#floors", "2").await?;
    cx.fill("#r0l", "101").await?;
    cx.fill("#r0f", "1").await?;
    cx.fill("#r0a", "16").await?;
    cx.el("#r0k").await?.select_by_value("bedroom").await?;
    cx.click_nav("form[action^='/landlord/houses'] button.btn[type=submit]:not([name])")
        .await?;
    cx.until(
        "the house page",
        "/^\\/landlord\\/houses\\/\\d+$/.test(location.pathname)",
    )
    .await?;
    cx.click_nav("form[action*='/apply'] button[type=submit]")
        .await?;
    cx.until(
        "the application page",
        "/^\\/landlord\\/applications\\/\\d+$/.test(location.pathname)",
    )
    .await?;
    let app_path = cx.path().await?;
    let landlord_app: i32 = app_path.rsplit('/').next().ok_or("id")?.parse()?;
    cx.fill("#owner_name", "王房东").await?;
    cx.fill("#ownership_doc_no", "浙(2020)花街镇不动产权第0001234号")
        .await?;
    cx.click_nav("#app-form button.btn.secondary[type=submit]:not([name]):not([formaction])")
        .await?;
    for (n, kind) in ["ownership_proof", "house_photo"].iter().enumerate() {
        let p = cx.files.join(format!("doc-{n}.png"));
        std::fs::write(&p, png(50 + n as u32, 40))?;
        cx.el(&format!("#file_{kind}"))
            .await?
            .send_keys(&p.display().to_string())
            .await?;
        cx.click_nav(&format!("button[name=kind][value={kind}]"))
            .await?;
        cx.until("the upload", &format!("location.pathname === '{app_path}'"))
            .await?;
    }
    cx.click("input[name=pledge_accepted]").await?;
    cx.click_nav("button[form=app-form][formaction*='/submit']")
        .await?;
    let walk_task = task_of(cx, landlord_app).await?;

    // A second house for the offline walk, made before the task list is opened.
    let landlord = cx.token(LANDLORD);
    let offline_app = application_via_api(cx, &landlord, "锦绣村东区 20 号").await?;
    let offline_task = task_of(cx, offline_app).await?;

    // 2. The grid worker walks the first task online: one failure, photographed.
    cx.sign_in(INSPECTOR_JX).await?;
    cx.go("/inspector").await?;
    // The task list keeps the tasks' pages for offline use once the service worker runs.
    cx.until("the pages kept offline", "document.documentElement.dataset.kept && Number(document.documentElement.dataset.kept) >= 3").await?;
    cx.go(&format!("/inspector/tasks/{walk_task}")).await?;
    let tel = cx.el("a[href^='tel:']").await?.attr("href").await?;
    assert_eq!(tel.as_deref(), Some("tel:13900000004"));
    cx.click_nav("button[form=start-form]").await?;
    cx.until("the walk", "location.pathname.endsWith('/walk')")
        .await?;
    let failed = "wiring.no_improvised";
    let idx = c.items().position(|i| i.key == failed).ok_or("item")?;
    fill_walk(cx, Some(failed), &[(idx, phone_photo(&cx.files, 0))]).await?;
    cx.click("button[form=walk-form][value=submit]").await?;
    cx.until(
        "the inspection record",
        "location.pathname.startsWith('/inspections/')",
    )
    .await?;
    assert_eq!(cx.inspections_of(walk_task).await?, 1);
    let record = cx.js("return document.body.innerText").await?;
    assert!(record.as_str().unwrap_or("").contains("无私拉乱接电线"));

    // 3. The same walk in a basement: offline, three photos, submit, come back up.
    let before_bytes: u64 = (1..=3)
        .map(|n| {
            std::fs::metadata(phone_photo(&cx.files, n))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    network(&cx.c, false).await?;
    cx.go(&format!("/inspector/tasks/{offline_task}/walk"))
        .await?;
    let photos: Vec<(usize, PathBuf)> = (1..=3)
        .map(|n| ((n - 1) as usize, cx.files.join(format!("phone-{n}.jpg"))))
        .collect();
    fill_walk(cx, None, &photos).await?;
    cx.click("button[form=walk-form][value=submit]").await?;
    cx.until(
        "the queued walk",
        "document.getElementById('queue-count').textContent === '1 条待上传'",
    )
    .await?;
    let after_bytes = cx
        .until("the queued photo sizes", "(async () => { const q = await window.anjuQueue.store.all('queue'); return q[0].photos.reduce((n, p) => n + p.blob.size, 0); })()")
        .await?
        .as_u64()
        .unwrap_or(0);
    let sizes = cx.until("each photo", "(async () => { const q = await window.anjuQueue.store.all('queue'); return q[0].photos.map((p) => p.blob.size); })()").await?;
    assert!(
        sizes
            .as_array()
            .ok_or("sizes")?
            .iter()
            .all(|s| s.as_u64().unwrap_or(u64::MAX) <= 300 * 1024),
        "{sizes}"
    );
    assert_eq!(
        cx.inspections_of(offline_task).await?,
        0,
        "nothing reached the server offline"
    );
    // The bytes the phone keeps for the first photo, to check they arrive intact.
    let kept = cx
        .until(
            "the queued photo's bytes",
            "(async () => { const q = await window.anjuQueue.store.all('queue'); const p = q[0].photos.find((x) => x.name === 'a[0].photo'); const b = new Uint8Array(await p.blob.arrayBuffer()); let s = ''; for (const x of b) s += String.fromCharCode(x); return btoa(s); })()",
        )
        .await?;
    let kept = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        kept.as_str().ok_or("base64")?,
    )?;
    // Reloading offline keeps the queue and the answers.
    cx.c.refresh().await?;
    cx.until(
        "the queue after a reload",
        "document.getElementById('queue-count').textContent === '1 条待上传'",
    )
    .await?;
    network(&cx.c, true).await?;
    cx.click("#queue-send").await?;
    cx.until(
        "the queue emptied",
        "(async () => (await window.anjuQueue.count()) === 0)()",
    )
    .await?;
    cx.until(
        "the bar hidden",
        "document.getElementById('queue-bar').hidden",
    )
    .await?;
    // A second press and a reload send nothing more.
    cx.js("window.anjuQueue.flush(); return true").await?;
    cx.c.refresh().await?;
    assert_eq!(
        cx.inspections_of(offline_task).await?,
        1,
        "exactly one inspection"
    );
    let i = inspection::Entity::find()
        .filter(inspection::Column::TaskId.eq(offline_task))
        .one(&cx.db)
        .await?
        .ok_or("inspection")?;
    let answers: Vec<Value> = serde_json::from_str(&i.answers)?;
    let with_photos = answers
        .iter()
        .filter(|a| a["photo_ids"].as_array().is_some_and(|p| !p.is_empty()))
        .count();
    assert_eq!((i.outcome.as_str(), with_photos), ("passed", 3));
    // The first item's photo on the server is the queued blob as the server keeps photos.
    let first = c.items().next().ok_or("an item")?;
    let photo_id = answers
        .iter()
        .find(|a| a["item"] == first.key.as_str())
        .and_then(|a| a["photo_ids"][0].as_str())
        .ok_or("the first item's photo")?;
    let u = anju::entities::upload::Entity::find_by_id(photo_id.to_string())
        .one(&cx.db)
        .await?
        .ok_or("the upload")?;
    assert_eq!(
        u.sha256,
        anju::media::intake(&kept)?.sha256,
        "the photo arrived intact"
    );

    // Sizes: what a walk with three photos sends, and what the walk page weighs.
    let page = cx
        .until("the walk page's parts", "(async () => { const t = []; for (const u of ['/static/app.css', '/static/offline.js', '/static/walk.js']) t.push(await (await fetch(u)).text()); return [document.documentElement.outerHTML, ...t]; })()")
        .await?;
    let parts: Vec<String> = serde_json::from_value(page)?;
    let raw: usize = parts.iter().map(|p| p.len()).sum();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for p in &parts {
        gz.write_all(p.as_bytes())?;
    }
    let compressed = gz.finish()?.len();
    println!(
        "walk with 3 photos: {before_bytes} bytes of photos before downscaling, {after_bytes} after ({:.1}×)",
        before_bytes as f64 / after_bytes.max(1) as f64
    );
    println!("walk page HTML+CSS+JS: {raw} bytes, {compressed} bytes gzip (goal ≤ 61440)");
    assert!(
        compressed <= 60 * 1024,
        "walk page {compressed} bytes compressed"
    );

    // 4. The official approves the house that passed.
    cx.sign_in(OFFICIAL_JX).await?;
    cx.go(&format!("/official/applications/{offline_app}/review"))
        .await?;
    cx.click_nav("form[action*='/approve'] button[type=submit]")
        .await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    let p = loop {
        if let Some(p) = permit::Entity::find()
            .filter(permit::Column::ApplicationId.eq(offline_app))
            .one(&cx.db)
            .await?
        {
            break p;
        }
        if Instant::now() > deadline {
            return Err("no permit after approving".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // 5. A tenant checks in on a 390 px phone from the permit's QR code.
    let official = cx.token(OFFICIAL_JX);
    let pv = cx.api("GET", &format!("/permits/{}", p.number), &official, None)?;
    let qr = url::Url::parse(pv["qr_url"].as_str().ok_or("qr_url")?)?;
    let sig = qr
        .query_pairs()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.to_string())
        .ok_or("sig")?;
    cx.c.delete_all_cookies().await?;
    cx.c.set_window_size(390, 844).await?;
    cx.go(&format!("/p/{}/checkin?sig={}", p.number, sig))
        .await?;
    cx.fill("#name", "李租客").await?;
    cx.fill("#doc_number", &resident_id(7)).await?;
    cx.fill("#phone", "13700000007").await?;
    let room = cx
        .js("return document.querySelector('#room_id option[value]:not([value=\"\"])').value")
        .await?;
    cx.el("#room_id")
        .await?
        .select_by_value(room.as_str().ok_or("room")?)
        .await?;
    cx.js(&format!(
        "document.getElementById('move_in').value = '{}'; return true",
        today_cst()
    ))
    .await?;
    cx.click("input[name=consent]").await?;
    cx.click_nav("form[action*='/checkin'] button[type=submit]")
        .await?;
    // The result page shows the check-out code the tenant must keep.
    cx.until(
        "the check-in result",
        "document.body.innerText.includes('退租码')",
    )
    .await?;
    let width = cx.js("return document.documentElement.scrollWidth").await?;
    assert!(
        width.as_u64().unwrap_or(999) <= 390,
        "no sideways scrolling at 390 px: {width}"
    );
    let stays = stay::Entity::find()
        .filter(stay::Column::PermitId.eq(p.id))
        .count(&cx.db)
        .await?;
    assert_eq!(stays, 1);
    Ok(())
}

#[test]
fn field_work_in_a_real_browser() {
    let Some(driver_bin) = chromedriver() else {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(
            !ci,
            "CI is set but chromedriver is missing: install chromium and chromium-driver"
        );
        eprintln!(
            "SKIPPED field_work_in_a_real_browser: no chromedriver on PATH (apt-get install chromium chromium-driver); CI is unset"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files).expect("files dir");
        let url = fresh_database_url(dir.path()).await;
        let server = server::Server::start(Path::new(env!("CARGO_BIN_EXE_anju")), &data, Some(&url), &[]);
        let base = format!("http://127.0.0.1:{}", server.port);
        let db = Database::connect(url.as_str()).await.expect("the test database");
        let driver = start_driver(&driver_bin);
        let profile = dir.path().join("chromium-profile");
        let caps = json!({"browserName": "chrome", "goog:chromeOptions": {
            "binary": std::env::var("ANJU_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=390,844", "--lang=zh-CN", format!("--user-data-dir={}", profile.display())]}});
        let mut b = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        if let Value::Object(m) = caps {
            b.capabilities(m);
        }
        let c = b.connect(&format!("http://127.0.0.1:{}", driver.port)).await.expect("a chromium session");
        let cx = Ctx { c, base, db, server, files };
        let outcome = scenario(&cx).await;
        if let Err(e) = &outcome {
            let shots = std::env::var_os("ANJU_BROWSER_SHOTS")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-shots"));
            std::fs::create_dir_all(&shots).ok();
            let at = cx.c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            if let Ok(png) = cx.c.screenshot().await {
                let f = shots.join("field_work_in_a_real_browser.png");
                std::fs::write(&f, png).ok();
                eprintln!("screenshot of the failure: {} (at {at})", f.display());
            }
            if let Ok(html) = cx.c.source().await {
                std::fs::write(shots.join("field_work_in_a_real_browser.html"), html).ok();
            }
            if let Ok(errs) = cx.c.execute("return window.__errs || []", vec![]).await {
                eprintln!("script errors on the page: {errs}");
            }
            eprintln!("failed: {e}");
        }
        cx.c.clone().close().await.ok();
        drop(driver);
        outcome.expect("the browser scenario");
    });
}
