//! A small HTTP/1.1 server for tests: a webhook receiver or an SMS provider's endpoint, on loopback.
//! It records every request and answers what the test tells it to, so the code under test talks to
//! a real socket and not to a mock.
#![allow(dead_code)]
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as the peer received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What to answer: status, extra headers, body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: String::new(),
        }
    }

    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Responder = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// A running peer. Dropping it does not stop the server; it dies with the test's runtime.
#[derive(Clone)]
pub struct HttpPeer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    responder: Arc<Mutex<Responder>>,
}

impl HttpPeer {
    /// Starts on a free loopback port, answering 200 with an empty body until told otherwise.
    pub async fn start() -> HttpPeer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let peer = HttpPeer {
            url: format!("http://{addr}"),
            received: Arc::new(Mutex::new(Vec::new())),
            responder: Arc::new(Mutex::new(Arc::new(|_: &Received| Reply::status(200)))),
        };
        let p = peer.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let p = p.clone();
                tokio::spawn(async move { p.serve(sock).await });
            }
        });
        peer
    }

    /// From now on, answer each request with `f(request)`.
    pub fn answer(&self, f: impl Fn(&Received) -> Reply + Send + Sync + 'static) {
        *self.responder.lock().expect("responder lock") = Arc::new(f);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received lock").clone()
    }

    /// Waits up to `secs` seconds for at least `n` requests; returns what arrived.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let got = self.received();
            if got.len() >= n || std::time::Instant::now() > until {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn serve(&self, sock: tokio::net::TcpStream) {
        let (rd, mut wr) = sock.into_split();
        let mut rd = BufReader::new(rd);
        loop {
            let mut line = String::new();
            if rd.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let path = parts.next().unwrap_or("").to_string();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if rd.read_line(&mut h).await.unwrap_or(0) == 0 {
                    return;
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            if rd.read_exact(&mut body).await.is_err() {
                return;
            }
            let req = Received {
                method,
                path,
                headers,
                body,
                at: std::time::Instant::now(),
            };
            let responder = self.responder.lock().expect("responder lock").clone();
            let reply = responder(&req);
            self.received.lock().expect("received lock").push(req);
            let mut out = format!(
                "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
                reply.status,
                reply.body.len()
            );
            for (k, v) in &reply.headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&reply.body);
            if wr.write_all(out.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}
