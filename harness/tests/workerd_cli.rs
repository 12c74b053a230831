//! `run --target workerd` on a machine without the toolchain: a usage-level error (exit 2) that
//! names what is missing and the command that installs it, before anything is started.

use std::process::Command;

#[test]
fn a_missing_toolchain_is_named_with_its_install_command() {
    let repo = tempfile::tempdir().unwrap();
    for dir in ["migrations", "scenarios", "scripts"] {
        std::fs::create_dir(repo.path().join(dir)).unwrap();
    }
    std::fs::write(repo.path().join("package.json"), r#"{"devDependencies": {"wrangler": "4.86.0"}}"#).unwrap();
    std::fs::write(
        repo.path().join("scenarios/handshake.toml"),
        "description = \"x\"\n[[deliveries]]\nkind = \"handshake\"\n[expect]\nresponses = [200]\nruns = []\nbindings_read = []\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_agency-harness"))
        .args(["run", "--target", "workerd"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("wrangler 4.86.0"), "{stderr}");
    assert!(stderr.contains("bash scripts/install-wasm-toolchain.sh"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("PASS"));
}
