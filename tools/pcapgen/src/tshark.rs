//! Reading captures back with tshark (for tests): `available()` and `fields()`.

use std::path::Path;
use std::process::Command;

/// Whether a `tshark` binary can be run.
pub fn available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `tshark -n -r FILE [-Y FILTER] -T fields -e F1 -e F2 ... [-o PREF ...]`: one row per packet,
/// one column per field (tshark's own text, `,`-joined when a field repeats).
pub fn fields(
    path: &Path,
    filter: Option<&str>,
    fields: &[&str],
    prefs: &[&str],
) -> std::io::Result<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(path);
    for p in prefs {
        cmd.arg("-o").arg(p);
    }
    if let Some(f) = filter {
        cmd.arg("-Y").arg(f);
    }
    cmd.args([
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "tshark failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect())
}

/// Full `tshark -V` text of a capture (for eyeballing in failed assertions).
pub fn verbose(path: &Path) -> std::io::Result<String> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-V")
        .arg("-r")
        .arg(path)
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
