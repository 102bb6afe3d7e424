//! redis-py against the real server: every `tests/python/*.py` script runs as
//! `python3 <script> <port>` against one server and must exit 0. The scripts exercise
//! what only a real client library shows (its parsing of our replies, its helpers).
//!
//! redis-py is required: without it this test fails and says how to install it.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Server;

#[test]
fn python_client_scripts() {
    let probe = Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .expect("python3 must be installed to run tests/python/*.py");
    assert!(
        probe.status.success(),
        "redis-py is missing: run `pip install redis` (or `python3 -m pip install 'redis>=5'`)\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/python exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no scripts in {}", dir.display());
    let server = Server::start();
    let mut failures = Vec::new();
    for script in &scripts {
        let out = Command::new("python3")
            .arg(script)
            .arg(server.port.to_string())
            .output()
            .expect("python3 runs");
        if !out.status.success() {
            failures.push(format!(
                "{} exited with {}\n--- stdout\n{}\n--- stderr\n{}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
