//! The installation as a service (`packaging/`): the `.deb` that `cargo deb -p plenum` builds,
//! with the binary, the systemd unit and the commented default configuration, and that
//! configuration itself.
//!
//! The package is built from the test build's own binary (`--profile dev --no-build`): no
//! release build in the test suite. cargo-deb comes from `scripts/install-test-deps.sh`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use plenum::config::{FileConfig, Overrides, ServeOverrides, Settings};

use crate::{ADMIN_PASSWORD, BIN, Sandbox};

/// How long `cargo deb` (compressing a ~100 MB debug binary) and dpkg-deb may take.
const PACKAGING_LIMIT: Duration = Duration::from_secs(300);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn packaging(file: &str) -> PathBuf {
    workspace().join("packaging").join(file)
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// What a finished command printed.
#[derive(Debug)]
struct Output {
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to completion, at most [`PACKAGING_LIMIT`]; fails the test unless it exits 0.
/// `hint` says what to do if the program is not there at all.
async fn run_ok(cmd: std::process::Command, hint: &str) -> Output {
    let shown = format!("{cmd:?}");
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shown} ({hint}): {e}"));
    let output = tokio::time::timeout(PACKAGING_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{shown} did not finish within {PACKAGING_LIMIT:?}"))
        .unwrap_or_else(|e| panic!("waiting for {shown}: {e}"));
    let out = Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        output.status.success(),
        "{shown}: {}\n{out:#?}",
        output.status
    );
    out
}

/// `dpkg-deb <option> <deb> <rest…>`, run to completion.
async fn dpkg_deb(option: &str, deb: &Path, rest: &[&OsStr]) -> Output {
    let mut cmd = std::process::Command::new("dpkg-deb");
    cmd.arg(option).arg(deb).args(rest);
    run_ok(cmd, "dpkg-deb is in dpkg").await
}

/// `cargo deb -p plenum` on the binary this test run built, into `out`; returns the `.deb`.
async fn build_deb(out: &Path) -> PathBuf {
    let bin = Path::new(BIN);
    // <target dir>/<profile dir>/plenum: cargo-deb finds the binary there again from the
    // profile (`dev` is the `debug` directory) and CARGO_TARGET_DIR.
    let profile_dir = bin.parent().expect("the binary's directory");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => panic!("no profile directory in {}", bin.display()),
    };
    let target_dir = profile_dir.parent().expect("the target directory");

    let mut cmd = std::process::Command::new(option_env!("CARGO").unwrap_or("cargo"));
    // Nothing of the test run's own Cargo environment (CARGO_PKG_*, CARGO_MANIFEST_DIR, …).
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("CARGO_") && name != "CARGO_HOME" {
            cmd.env_remove(&key);
        }
    }
    cmd.current_dir(workspace())
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["deb", "-p", "plenum", "--profile", profile, "--no-build"])
        // As built (the test compares sizes), and quickly: no strip, light compression.
        .args(["--no-strip", "--fast"])
        // The tests may run without a network (`unshare -n`): cargo metadata must not fetch.
        .args(["--locked", "--offline", "--output"])
        .arg(out);
    run_ok(cmd, "scripts/install-test-deps.sh installs cargo-deb").await;

    let debs: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("reading the output directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    assert_eq!(
        debs.len(),
        1,
        "one .deb expected in {}: {debs:?}",
        out.display()
    );
    debs[0].clone()
}

/// One line of `dpkg-deb -c`: `-rwxr-xr-x 0/0 107526688 2026-01-01 00:00 ./usr/bin/plenum`.
#[derive(Debug)]
struct Entry {
    mode: String,
    owner: String,
    size: u64,
}

fn listing(text: &str) -> BTreeMap<String, Entry> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert!(fields.len() >= 6, "unexpected dpkg-deb -c line: {line}");
            let entry = Entry {
                mode: fields[0].to_owned(),
                owner: fields[1].to_owned(),
                size: fields[2]
                    .parse()
                    .unwrap_or_else(|e| panic!("size in {line}: {e}")),
            };
            (fields[5].trim_start_matches('.').to_owned(), entry)
        })
        .collect()
}

/// Checks `systemd-analyze verify` says nothing about the unit (it exits 0 even on unknown
/// keys and values it ignores, so its output must be empty too). `ExecStart` is pointed at
/// the extracted binary: verify checks that the command exists.
async fn verify_unit(unit: &str, root: &Path, dir: &Path) {
    let probe = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!(
            "SKIPPED systemd-analyze verify of plenum.service: systemd-analyze is not installed"
        );
        return;
    }
    let bin = root.join("usr/bin/plenum");
    let bin = bin.to_str().expect("a UTF-8 path");
    let rewritten = unit.replace(
        "\nExecStart=/usr/bin/plenum ",
        &format!("\nExecStart={bin} "),
    );
    assert_ne!(rewritten, unit, "no ExecStart=/usr/bin/plenum in the unit");
    let copy = dir.join("plenum.service");
    std::fs::write(&copy, rewritten).expect("writing the unit's copy");
    let mut cmd = std::process::Command::new("systemd-analyze");
    cmd.args(["verify", "--man=no"]).arg(&copy);
    let out = run_ok(cmd, "systemd-analyze").await;
    assert!(
        out.stdout.trim().is_empty() && out.stderr.trim().is_empty(),
        "systemd-analyze verify complained about plenum.service:\n{out:#?}"
    );
}

#[tokio::test]
async fn the_deb_holds_the_binary_the_unit_and_the_configuration() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("plenum-deb-")
        .tempdir()
        .expect("creating a temporary directory");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("creating the output directory");
    let deb = build_deb(&out).await;
    let built = started.elapsed();

    // The files, their modes and owners.
    let contents = listing(&dpkg_deb("-c", &deb, &[]).await.stdout);
    let expect = |path: &str, mode: &str| -> &Entry {
        let entry = contents
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not in the package: {contents:#?}"));
        assert_eq!(entry.mode, mode, "mode of {path}");
        assert_eq!(entry.owner, "0/0", "owner of {path}");
        entry
    };
    let binary = expect("/usr/bin/plenum", "-rwxr-xr-x");
    // The binary this run built, as it is (not a stale or stripped one).
    let built_size = std::fs::metadata(BIN).expect("the test's binary").len();
    assert_eq!(binary.size, built_size, "size of /usr/bin/plenum");
    expect("/usr/lib/systemd/system/plenum.service", "-rw-r--r--");
    // Secrets may go in it: not world-readable (postinst gives it to the group plenum).
    expect("/etc/plenum/plenum.toml", "-rw-r-----");
    for doc in [
        "README.md",
        "copyright",
        "docs/configuration.md",
        "docs/media.md",
    ] {
        expect(&format!("/usr/share/doc/plenum/{doc}"), "-rw-r--r--");
    }

    // The control archive: the maintainer scripts and the conffile.
    // `dpkg-deb -I`: "   2592 bytes,    61 lines   *  postinst   #!/bin/sh" per member.
    let info = dpkg_deb("-I", &deb, &[]).await.stdout;
    for member in ["control", "conffiles", "postinst", "postrm", "prerm"] {
        assert!(
            info.lines()
                .filter(|l| l.contains(" bytes, "))
                .any(|l| l.split_whitespace().any(|w| w == member)),
            "no {member} in the control archive:\n{info}"
        );
    }
    let names = ["Package", "Depends", "Suggests"].map(OsStr::new);
    let fields = dpkg_deb("-f", &deb, &names).await.stdout;
    let field = |name: &str| -> String {
        fields
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} field:\n{fields}"))
            .to_owned()
    };
    assert_eq!(field("Package"), "plenum");
    let depends: BTreeSet<String> = field("Depends")
        .split(',')
        .map(|d| d.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    for needed in ["libc6", "libopus0", "adduser"] {
        assert!(
            depends.contains(needed),
            "Depends lacks {needed}: {depends:?}"
        );
    }
    assert!(field("Suggests").contains("ffmpeg"), "{fields}");

    let control = dir.path().join("control");
    dpkg_deb("-e", &deb, &[control.as_os_str()]).await;
    assert_eq!(
        read_text(&control.join("conffiles")).trim(),
        "/etc/plenum/plenum.toml"
    );
    let postinst = read_text(&control.join("postinst"));
    let postrm = read_text(&control.join("postrm"));
    for (name, script) in [("postinst", &postinst), ("postrm", &postrm)] {
        assert!(
            !script.contains("#DEBHELPER#"),
            "{name}: token left:\n{script}"
        );
        // cargo-deb's systemd snippets went in.
        assert!(script.contains("deb-systemd-helper"), "{name}:\n{script}");
        let mut sh = std::process::Command::new("sh");
        sh.arg("-n").arg(control.join(name));
        run_ok(sh, "sh").await;
    }
    assert!(postinst.contains("adduser --system"), "{postinst}");
    assert!(postinst.contains("dpkg-statoverride"), "{postinst}");
    assert!(postrm.contains("\"purge\""), "{postrm}");

    // What is installed is what packaging/ has.
    let root = dir.path().join("root");
    dpkg_deb("-x", &deb, &[root.as_os_str()]).await;
    let unit = read_text(&root.join("usr/lib/systemd/system/plenum.service"));
    assert_eq!(unit, read_text(&packaging("plenum.service")));
    assert_eq!(
        read_text(&root.join("etc/plenum/plenum.toml")),
        read_text(&packaging("plenum.toml"))
    );
    verify_unit(&unit, &root, dir.path()).await;
    eprintln!(
        "the .deb: built in {built:?}, checked in {:?} ({})",
        started.elapsed() - built,
        deb.display()
    );
}

/// The keys of the packaged configuration whose commented-out values are examples rather
/// than built-in defaults (there is none: no public URL, no TLS, no TURN server, no bucket).
const EXAMPLES: &[&str] = &[
    "public_url",
    "database_url",
    "node_address",
    "tls.cert_file",
    "tls.key_file",
    "metrics.listen",
    "metrics.token",
    "media.advertise",
    "media.ice_servers",
    "media.ice_servers.urls",
    "media.ice_servers.username",
    "media.ice_servers.credential",
    // <data_dir>/recordings: checked below against the data_dir of the file.
    "recordings.dir",
    "recordings.s3.endpoint",
    "recordings.s3.bucket",
    "recordings.s3.access_key_id",
    "recordings.s3.secret_access_key",
];

/// The packaged configuration with its commented-out keys (`#key = value`, `#[table]`)
/// uncommented: all of them, or only those that show a built-in default.
fn uncommented(text: &str, examples_too: bool) -> String {
    let mut section = String::new();
    let mut out = String::new();
    for line in text.lines() {
        let body = line.strip_prefix('#').unwrap_or(line);
        let header = body
            .strip_prefix("[[")
            .and_then(|h| h.strip_suffix("]]"))
            .or_else(|| body.strip_prefix('[').and_then(|h| h.strip_suffix(']')));
        let key = body
            .split_once(" = ")
            .map(|(k, _)| k)
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        let full = match (header, key) {
            (Some(h), _) => {
                section = h.to_owned();
                h.to_owned()
            }
            (None, Some(k)) if section.is_empty() => k.to_owned(),
            (None, Some(k)) => format!("{section}.{k}"),
            (None, None) => {
                out.push_str(line);
                out.push('\n');
                continue;
            }
        };
        let commented = line.starts_with('#');
        if commented && (examples_too || !EXAMPLES.contains(&full.as_str())) {
            out.push_str(body);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn resolve(text: &str) -> Settings {
    let file: FileConfig =
        toml::from_str(text).unwrap_or_else(|e| panic!("not a valid configuration: {e}\n{text}"));
    Settings::resolve(file, &Overrides::default(), &ServeOverrides::default())
        .unwrap_or_else(|e| panic!("refused: {e:#}\n{text}"))
}

/// The keys the configuration file may have at `path` (a table of the parsed file), as the
/// parser itself lists them when it meets an unknown one.
fn accepted_keys(file: &toml::Value, path: &[&str]) -> Vec<String> {
    let mut probe = file.clone();
    let mut table = &mut probe;
    for part in path {
        table = match table {
            toml::Value::Table(t) => t.get_mut(*part).expect("the probed table"),
            other => panic!("not a table at {path:?}: {other:?}"),
        };
        if let toml::Value::Array(items) = table {
            table = items.first_mut().expect("an array of tables with one");
        }
    }
    table
        .as_table_mut()
        .expect("a table")
        .insert("not_a_key_of_plenum".into(), toml::Value::Integer(1));
    let text = toml::to_string(&probe).expect("serialising the probe");
    let error = toml::from_str::<FileConfig>(&text)
        .expect_err("an unknown key is refused")
        .to_string();
    let expected = error
        .split_once("expected one of ")
        .or_else(|| error.split_once("expected "))
        .unwrap_or_else(|| panic!("no list of keys in: {error}"))
        .1;
    let keys: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(!keys.is_empty(), "no keys in: {error}");
    keys
}

#[test]
fn the_packaged_configuration_shows_every_key_at_its_default() {
    let shipped = read_text(&packaging("plenum.toml"));
    let as_shipped = resolve(&shipped);
    assert_eq!(as_shipped.data_dir, Path::new("/var/lib/plenum"));

    // Every key the file may have is in it (commented out or not), in every table.
    let all = uncommented(&shipped, true);
    let value: toml::Value = toml::from_str(&all).expect("the uncommented file is TOML");
    resolve(&all);
    let mut tables: Vec<Vec<&str>> = vec![vec![]];
    while let Some(path) = tables.pop() {
        let mut here = &value;
        for part in &path {
            here = &here[*part];
            if let toml::Value::Array(items) = here {
                here = &items[0];
            }
        }
        for key in accepted_keys(&value, &path) {
            let found = here.get(&key).unwrap_or_else(|| {
                panic!(
                    "packaging/plenum.toml lacks the key {key:?} in [{}]",
                    path.join(".")
                )
            });
            let nested = match found {
                toml::Value::Table(_) => true,
                toml::Value::Array(items) => items.first().is_some_and(toml::Value::is_table),
                _ => false,
            };
            if nested {
                let mut deeper = path.clone();
                deeper.push(value_key(&value, &path, &key));
                tables.push(deeper);
            }
        }
    }

    // The values shown are the built-in defaults: uncommenting them changes nothing.
    let defaults = format!("{:#?}", resolve(&uncommented(&shipped, false)));
    let built_in = format!("{as_shipped:#?}");
    let differing: Vec<String> = defaults
        .lines()
        .zip(built_in.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("shown {} / built in {}", a.trim(), b.trim()))
        .collect();
    assert!(
        differing.is_empty() && defaults == built_in,
        "commented-out values of packaging/plenum.toml that are not the built-in defaults: {differing:#?}"
    );
    let shown_dir = value["recordings"]["dir"].as_str().expect("recordings.dir");
    assert_eq!(
        Path::new(shown_dir),
        as_shipped.recordings.dir(&as_shipped.data_dir)
    );
}

/// `key` as a `&str` that lives as long as `value` (the table paths borrow from it).
fn value_key<'a>(value: &'a toml::Value, path: &[&str], key: &str) -> &'a str {
    let mut here = value;
    for part in path {
        here = &here[*part];
        if let toml::Value::Array(items) = here {
            here = &items[0];
        }
    }
    here.as_table()
        .and_then(|t| t.get_key_value(key))
        .map(|(k, _)| k.as_str())
        .expect("the key is there")
}

#[tokio::test]
async fn the_server_starts_with_the_packaged_configuration() {
    // As the unit starts it, with the sandbox's data directory and port for
    // /var/lib/plenum and 7480 (flags override the file).
    let sandbox = Sandbox::new();
    let config = packaging("plenum.toml");
    let config = config.to_str().expect("a UTF-8 path");
    let server = sandbox
        .serve(
            &["--config", config, "--admin-password", ADMIN_PASSWORD],
            &[],
        )
        .await;
    server.sign_in("admin", ADMIN_PASSWORD).await;
    server.stop().await;
}
