//! moto's S3 server (PyPI `moto[server]`, installed by `.ci/run`) on a free loopback port, for
//! the tests that keep photos in S3-compatible storage.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `python3` can run moto's server (run as a module, so no script shim is needed).
pub fn moto_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import moto.server, flask_cors"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The S3 server; dropping it stops it.
pub struct S3Server {
    pub child: Child,
    pub port: u16,
}

impl S3Server {
    pub fn start() -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m moto.server");
        let server = S3Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto's server did not listen in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Makes a bucket (object_store does not; an S3 `PUT /bucket` does).
pub async fn create_bucket(endpoint: &str, bucket: &str) {
    let made = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("create the bucket");
    assert!(made.status().is_success(), "{}", made.status());
}
