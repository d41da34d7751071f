//! `sse` as an operator deploys it: every `sse serve` flag from an
//! environment variable, shell completions and the manual page, and the
//! systemd unit of the README.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::process::{SSE, Serve, Stream};

/// Every `sse serve` flag can come from an environment variable named
/// after it (`--max-clients` from `SSE_MAX_CLIENTS`), as `--help` shows;
/// lists split at commas.
#[test]
fn every_serve_flag_has_an_environment_variable() {
    let help = Command::new(SSE).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let mut flags = 0;
    for (line, next) in help.lines().zip(help.lines().skip(1)) {
        let Some(flag) = line.trim_start().strip_prefix("--").and_then(|f| f.split([' ', '\t']).next())
        else {
            continue;
        };
        if flag == "help" {
            continue;
        }
        flags += 1;
        let env = format!("[env: SSE_{}=", flag.to_ascii_uppercase().replace('-', "_"));
        assert!(line.contains(&env) || next.contains(&env), "--{flag} has no {env}: {line} {next}");
    }
    assert!(flags >= 25, "{flags} flags in {help}");
    // Set from the environment: two CORS origins and one client slot.
    let serve = Serve::start_with_env(
        &["--keep-alive", "0"],
        &[("SSE_CORS", "https://a.example,https://b.example"), ("SSE_MAX_CLIENTS", "1")],
    );
    let (status, _) = serve.request(
        "OPTIONS",
        "/publish",
        &["Origin: https://b.example", "Access-Control-Request-Method: POST"],
        b"",
    );
    assert_eq!(status, 204);
    let (_, _, held) = Stream::open(serve.addr, "/events", &[]);
    assert!(held.is_some());
    assert_eq!(Stream::open(serve.addr, "/events", &[]).0, 503);
}

#[test]
fn completions_and_the_manual_page_are_printed() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(SSE).args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("serve") && script.contains("max-clients"), "{shell}: {script}");
    }
    if Command::new("bash").arg("--version").output().is_ok() {
        let out = Command::new(SSE).args(["completions", "bash"]).output().unwrap();
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sse.bash");
        std::fs::write(&path, out.stdout).unwrap();
        let checked = Command::new("bash").args(["-n", path.to_str().unwrap()]).status().unwrap();
        assert!(checked.success(), "the bash completion script does not parse");
    }
    let man = Command::new(SSE).arg("man").output().unwrap();
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(man.status.success() && page.starts_with(".ie") && page.contains(".TH sse 1"), "{page}");
}

/// The systemd unit of the README (`packaging/sse.service`), with its
/// hardening options, passes `systemd-analyze verify` without a warning,
/// and its environment names real flags.
#[test]
fn the_systemd_unit_verifies() {
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/sse.service")).unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sse.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/sse", SSE)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no", path.to_str().unwrap()])
        .output()
        .expect("systemd-analyze (Debian's systemd; scripts/test.sh installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
    let help =
        String::from_utf8(Command::new(SSE).args(["serve", "--help"]).output().unwrap().stdout).unwrap();
    for line in unit.lines().filter_map(|l| l.strip_prefix("Environment=")) {
        let name = line.split('=').next().unwrap();
        assert!(help.contains(&format!("[env: {name}=")), "{name} is not a flag's variable");
    }
    for option in
        ["NoNewPrivileges=yes", "ProtectSystem=strict", "DynamicUser=yes", "SystemCallFilter=@system-service"]
    {
        assert!(unit.contains(option), "{option}");
    }
}
