//! A real `anju serve` process on a free port and a bare HTTP/1.1 client for it, shared by the
//! file-permission test and the flood benchmark (which must see the server's own memory).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
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

impl Server {
    /// Starts `bin serve --demo` on `data_dir` (SQLite inside it unless `database_url` is given)
    /// and waits until it answers.
    pub fn start(
        bin: &Path,
        data_dir: &Path,
        database_url: Option<&str>,
        env: &[(&str, &str)],
    ) -> Server {
        let port = free_port();
        let mut c = Command::new(bin);
        c.args(["serve", "--demo"])
            .env("ANJU_DATA_DIR", data_dir)
            .env("ANJU_SCHEDULER", "false")
            .env(
                "ANJU_FORMS_DIR",
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("forms"),
            )
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_LOG_LEVEL", "off")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(url) = database_url {
            c.env("ANJU_DATABASE_URL", url);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        let child = c.spawn().expect("start anju serve");
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok((200, _)) = server.request("GET", "/healthz", &[], b"") {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("anju serve exited before answering: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "anju serve did not answer in 120 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// One request on its own connection; the status and the body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        self.exchange(method, path, headers, body)
            .map(|(status, _, body)| (status, body))
    }

    /// A browser's sign-in through the form (CSRF cookie and token included): the `Cookie`
    /// header value that carries the session.
    pub fn sign_in_cookie(&self, phone: &str, password: &str) -> String {
        let (_, head, page) = self
            .exchange("GET", "/login", &[], b"")
            .expect("GET /login");
        let page = String::from_utf8_lossy(&page);
        let start = page.find("_csrf=").expect("a CSRF token") + 6;
        let token: String = page[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let jar = |head: &str| -> Vec<String> {
            head.lines()
                .filter_map(|l| {
                    l.strip_prefix("set-cookie: ")
                        .or_else(|| l.strip_prefix("Set-Cookie: "))
                })
                .filter_map(|c| c.split(';').next().map(str::to_string))
                .collect()
        };
        let cookies = jar(&head).join("; ");
        let form = format!("phone={phone}&password={password}");
        let (status, head, _) = self
            .exchange(
                "POST",
                &format!("/login?_csrf={token}"),
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Cookie", &cookies),
                ],
                form.as_bytes(),
            )
            .expect("POST /login");
        assert_eq!(status, 303, "sign-in as {phone}");
        jar(&head).join("; ")
    }

    /// One request; the status, the raw header block and the body.
    fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<(u16, String, Vec<u8>)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(600)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        let split = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("no header end"))?;
        let head = String::from_utf8_lossy(&out[..split]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status"))?;
        Ok((status, head, out[split + 4..].to_vec()))
    }

    pub fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        json: &str,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut h = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            h.push(("Authorization", a.as_str()));
        }
        self.request("POST", path, &h, json.as_bytes())
    }

    /// A bearer token for a demo account.
    pub fn token(&self, phone: &str, password: &str) -> String {
        let (s, body) = self
            .post_json(
                "/api/v1/auth/login",
                None,
                &format!(r#"{{"phone":"{phone}","password":"{password}"}}"#),
            )
            .expect("sign in");
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
        let text = String::from_utf8_lossy(&body);
        let start = text.find(r#""token":""#).expect("a token") + 9;
        text[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// `POST /api/v1/photos` with one file.
    pub fn upload(&self, token: &str, file: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let boundary = "anjuboundary7MA4YWxkTrZu0gW";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        let auth = format!("Bearer {token}");
        self.request(
            "POST",
            "/api/v1/photos",
            &[
                ("Content-Type", ct.as_str()),
                ("Authorization", auth.as_str()),
            ],
            &body,
        )
    }
}

/// `VmRSS` and `VmHWM` of a process in KiB, from `/proc/PID/status`.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
