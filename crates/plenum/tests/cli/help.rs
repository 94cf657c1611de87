//! `--help`, `--version` and a missing command.

use crate::{plenum, run};

/// The help text with line wrapping undone.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the "Commands:" section of a help text lists `name`.
fn lists_command(help: &str, name: &str) -> bool {
    help.lines()
        .any(|l| l.starts_with("  ") && l.split_whitespace().next() == Some(name))
}

#[tokio::test]
async fn top_level_help_lists_the_commands_and_the_configuration_precedence() {
    let mut cmd = plenum();
    cmd.arg("--help");
    let help = run(cmd, None).await;
    help.assert_ok();
    for command in ["serve", "user", "company"] {
        assert!(
            lists_command(&help.stdout, command),
            "{command} missing:\n{}",
            help.stdout
        );
    }
    // The precedence is explained before the usage line: defaults < file < environment < flags.
    let about = flat(help.stdout.split("Usage:").next().unwrap_or(""));
    let order: Vec<Option<usize>> = ["defaults", "--config", "PLENUM_", "flags"]
        .iter()
        .map(|w| about.find(w))
        .collect();
    assert!(
        order.iter().all(Option::is_some) && order.is_sorted(),
        "precedence not explained in order: {about}"
    );
    assert!(about.contains("override"), "{about}");
    assert!(help.stdout.contains("--config"));
    assert!(help.stdout.contains("PLENUM_CONFIG"));
}

#[tokio::test]
async fn serve_help_names_its_flags_and_environment_variables_but_no_secret_values() {
    let mut cmd = plenum();
    cmd.args(["serve", "--help"])
        .env("PLENUM_ADMIN_PASSWORD", "Help-Secret-Passw0rd")
        .env("PLENUM_SECRET_SALT", "help-secret-salt")
        .env(
            "PLENUM_RECORDINGS_S3_SECRET_ACCESS_KEY",
            "help-secret-s3-key",
        );
    let help = run(cmd, None).await;
    help.assert_ok();
    for needle in [
        "--listen",
        "--data-dir",
        "--admin-password",
        "--config",
        "--log-format",
        "PLENUM_LISTEN",
        "PLENUM_DATA_DIR",
        "PLENUM_ADMIN_PASSWORD",
        "PLENUM_LOG_FORMAT",
        "PLENUM_SECRET_SALT",
        "--recordings-storage",
        "PLENUM_RECORDINGS_S3_SECRET_ACCESS_KEY",
    ] {
        assert!(
            help.stdout.contains(needle),
            "{needle} missing:\n{}",
            help.stdout
        );
    }
    assert!(
        !help.stdout.contains("Help-Secret-Passw0rd"),
        "{}",
        help.stdout
    );
    assert!(!help.stdout.contains("help-secret-salt"), "{}", help.stdout);
    assert!(
        !help.stdout.contains("help-secret-s3-key"),
        "{}",
        help.stdout
    );
}

#[tokio::test]
async fn subcommand_help_describes_the_offline_commands() {
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["user", "create", "--help"],
            &[
                "--username",
                "--role",
                "--company",
                "--password",
                "--password-stdin",
            ],
        ),
        (
            &["user", "reset-password", "--help"],
            &["--username", "--password", "--password-stdin"],
        ),
        (
            &["company", "create", "--help"],
            &["--name", "--time-zone", "--admin-username", "--max-users"],
        ),
        (&["company", "list", "--help"], &["--data-dir"]),
    ];
    for (args, needles) in cases {
        let mut cmd = plenum();
        cmd.args(args);
        let help = run(cmd, None).await;
        help.assert_ok();
        for needle in needles {
            assert!(
                help.stdout.contains(needle),
                "plenum {args:?}: {needle} missing:\n{}",
                help.stdout
            );
        }
    }
}

#[tokio::test]
async fn version_prints_the_crate_version_and_a_missing_command_is_a_usage_error() {
    let mut cmd = plenum();
    cmd.arg("--version");
    let version = run(cmd, None).await;
    version.assert_ok();
    assert_eq!(
        version.stdout.trim(),
        format!("plenum {}", env!("CARGO_PKG_VERSION"))
    );

    // A usage error fails with 1, like every other failure (`plenum bot` gives 2 a meaning
    // of its own: the join was refused).
    let bare = run(plenum(), None).await;
    assert_eq!(bare.status.code(), Some(1), "{bare:?}");
    assert!(bare.stderr.contains("Usage:"), "{bare:?}");
    assert!(bare.stdout.is_empty(), "{bare:?}");
}
