#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `parley wordlist test`: the real binary, a list file, comment texts on standard input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn wordlist_test(dir: &std::path::Path, list: &str, input: &str) -> Output {
    let path = dir.join("list.txt");
    std::fs::write(&path, list).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir)
        .args(["wordlist", "test", "--list"])
        .arg(&path)
        .env_remove("PARLEY_DATABASE")
        .env_remove("PARLEY_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run parley");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait")
}

#[test]
fn prints_one_line_per_comment() {
    let dir = tempfile::tempdir().unwrap();
    let list = "# banned\norc\ngo back   # a phrase\ntroll*\n";
    let input = "You are an orc.\nThe orchestra played\ng o  b a c k\r\ntr0lls everywhere\n\nＯＲＣ!\nnothing here";
    let out = wordlist_test(dir.path(), list, input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "hit\torc\t11-14\torc",
            "miss",
            "hit\tgo back\t0-12\tg o  b a c k",
            "hit\ttroll*\t0-6\ttr0lls",
            "miss",
            "hit\torc\t0-9\tＯＲＣ",
            "miss",
        ]
    );
    // No database was needed (nor created).
    assert!(!dir.path().join("parley.db").exists());
}

#[test]
fn a_bad_list_is_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = wordlist_test(dir.path(), "orc\nf*ck\n\n$$$\n", "orc\n");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2: `f*ck`"), "{stderr}");
    assert!(stderr.contains("line 4: `$$$`"), "{stderr}");
    assert!(stderr.contains("list.txt"), "{stderr}");
}

#[test]
fn a_missing_list_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir.path())
        .args(["wordlist", "test", "--list", "no-such-list.txt"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-list.txt"));
}
