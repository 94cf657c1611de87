//! A real S3-compatible server for tests: moto's server mode (`moto_server`, installed into
//! `.venv-test` by `scripts/install-test-deps.sh`), on 127.0.0.1 and a free port, with one
//! bucket. Killed when dropped.
//!
//! The binary comes from `PLENUM_TEST_MOTO_SERVER`, else `<workspace>/.venv-test/bin/moto_server`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The credentials moto accepts (any), given to the code under test.
pub const ACCESS_KEY_ID: &str = "plenum-test-key";
pub const SECRET_ACCESS_KEY: &str = "plenum-test-secret";
pub const REGION: &str = "us-east-1";

/// A running moto S3 server with a bucket.
#[derive(Debug)]
pub struct MotoS3 {
    pub endpoint: String,
    pub bucket: String,
    child: Child,
}

fn moto_binary() -> PathBuf {
    std::env::var_os("PLENUM_TEST_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-test/bin/moto_server")
        })
}

/// A port nobody listens on now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

impl MotoS3 {
    /// Starts moto and creates the bucket `bucket`. Panics (with what to run) if moto is not
    /// installed.
    pub async fn start(bucket: &str) -> Self {
        let binary = moto_binary();
        assert!(
            binary.exists(),
            "{} does not exist: run scripts/install-test-deps.sh (it installs moto[server] into .venv-test)",
            binary.display()
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"));
        // The port may be taken between choosing it and moto binding it: try a few.
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(if std::env::var_os("TEST_LOG").is_some() {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                })
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let endpoint = format!("http://{}", SocketAddr::from(([127, 0, 0, 1], port)));
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut up = false;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // exited: most likely the port was taken
                }
                if client.get(&endpoint).send().await.is_ok() {
                    up = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !up {
                let _ = child.kill();
                let _ = child.wait();
                continue;
            }
            // moto does not check signatures: an unsigned path-style PUT creates the bucket.
            let created = client
                .put(format!("{endpoint}/{bucket}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("cannot create the bucket: {e}"));
            assert!(
                created.status().is_success(),
                "creating the bucket answered {}",
                created.status()
            );
            return Self {
                endpoint,
                bucket: bucket.to_owned(),
                child,
            };
        }
        panic!("moto_server did not start on a free port in 5 tries");
    }
}

impl Drop for MotoS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
