//! The server guards stop what they started: by its PID when dropped, also
//! when the test holding them panics; and they listen on 127.0.0.1 only.
#![allow(clippy::unwrap_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use test_support::servers::{http_request, Containerd, Registry, Shared};

/// Whether a process with this PID still exists (a reaped one does not).
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn registry_answers_on_127_0_0_1_and_is_killed_when_its_test_panics() {
    let mut seen = None;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let registry = Registry::start();
        seen = Some((registry.pid(), registry.port()));
        assert!(registry.host().starts_with("127.0.0.1:"));
        let (status, response) = http_request(registry.port(), "GET", "/v2/", &[]).unwrap();
        assert_eq!(status, 200, "{response}");
        panic!("a failing test");
    }));
    assert!(result.is_err());
    let (pid, port) = seen.unwrap();
    assert!(!alive(pid), "the registry (PID {pid}) outlived its guard");
    assert!(
        http_request(port, "GET", "/v2/", &[]).is_none(),
        "something still answers on 127.0.0.1:{port}"
    );
}

#[test]
fn containerd_answers_on_its_socket_and_is_killed_on_drop() {
    let containerd = Containerd::start();
    let pid = containerd.pid();
    let socket = containerd.dir().join("sock");
    let version = containerd.ctr("default", ["version"]);
    assert!(version.status.success(), "{version:?}");
    assert!(String::from_utf8_lossy(&version.stdout).contains("Server:"));
    drop(containerd);
    assert!(!alive(pid), "containerd (PID {pid}) outlived its guard");
    assert!(!socket.exists(), "its folder was not removed");
}

static SHARED: Shared<Registry> = Shared::new(Registry::start);

#[test]
fn shared_server_is_started_once_while_in_use_and_stopped_after() {
    let first = SHARED.get();
    let second = SHARED.get();
    assert!(Arc::ptr_eq(&first, &second), "a second server was started");
    let pid = first.pid();
    drop(first);
    assert!(alive(pid), "stopped while a test still held it");
    drop(second);
    assert!(
        !alive(pid),
        "the shared registry (PID {pid}) outlived its last user"
    );
}
