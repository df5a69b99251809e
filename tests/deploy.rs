//! The deployment files in `deploy/`: they parse, `edgetap run` accepts the configs, and they
//! say what the READMEs say (capabilities, host network, paths). The systemd unit goes through
//! `systemd-analyze verify` (and `security`) where systemd is installed; the compose file is
//! loaded with Python's YAML parser where there is one, its sidecar script checked with `sh -n`.

use edgetap::appliance::{parse_bytes, RunConfig};
use edgetap::detect::rules::parse_duration;
use edgetap::identify::known;
use edgetap::identify::net::SiteNets;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("deploy/{rel}: {e}"))
}

/// Whether `cmd` can be run at all.
fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

const CONFIGS: &[&str] = &[
    "systemd/edgetap.toml",
    "container/edgetap.toml",
    "edgex/edgetap.toml",
];

/// Checks a config the way `run` will: every key known, every value valid.
fn check_config(what: &str, cfg: &RunConfig) {
    for (key, v) in [
        ("learn_for", &cfg.learn_for),
        ("retention_age", &cfg.retention_age),
    ] {
        if let Some(v) = v {
            assert!(parse_duration(v).is_some(), "{what}: {key} `{v}`");
        }
    }
    if let Some(b) = &cfg.retention_bytes {
        assert!(parse_bytes(b).is_some(), "{what}: retention_bytes `{b}`");
    }
    if !cfg.site_networks.is_empty() {
        SiteNets::parse(&cfg.site_networks).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

#[test]
fn example_configs_load_as_run_loads_them() {
    for rel in CONFIGS {
        let text = read(rel);
        toml::from_str::<toml::Table>(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let cfg = RunConfig::load(&path(rel)).unwrap_or_else(|e| panic!("{rel}: {e:#}"));
        check_config(rel, &cfg);
        // The paths every deployment provides (StateDirectory/LogsDirectory, the volumes).
        assert_eq!(
            cfg.state.as_deref(),
            Some(Path::new("/var/lib/edgetap")),
            "{rel}"
        );
        assert_eq!(
            cfg.eve.as_deref(),
            Some(Path::new("/var/log/edgetap/eve.json")),
            "{rel}"
        );
        // Examples listen on loopback, which needs no token, and ship no secret.
        let listen = cfg.listen.unwrap_or_else(|| panic!("{rel}: no listen"));
        assert!(listen.ip().is_loopback(), "{rel}: {listen}");
        assert_eq!(listen.port(), 8787, "{rel}");
        assert!(cfg.token.is_none(), "{rel}: an example holds a token");

        // The commented-out examples (`# key = value`) are valid too once uncommented.
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    }) =>
                {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let all: RunConfig = toml::from_str(&uncommented)
            .unwrap_or_else(|e| panic!("{rel} with its examples uncommented: {e}"));
        check_config(rel, &all);
    }
    // The systemd example documents every key.
    let sys = read("systemd/edgetap.toml");
    for key in [
        "interfaces",
        "filter",
        "listen",
        "token",
        "state",
        "rules",
        "site_networks",
        "learn_for",
        "eve",
        "syslog",
        "retention_age",
        "retention_bytes",
        "known",
    ] {
        assert!(
            sys.lines()
                .any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} = "))),
            "systemd/edgetap.toml does not show `{key}`"
        );
    }
}

#[test]
fn known_device_examples_load() {
    let toml_list = known::load(&path("systemd/known.toml")).unwrap();
    let names: Vec<&str> = toml_list.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["plc-12", "historian"]);
    assert!(toml_list[0].mac.is_some() && toml_list[0].ip.is_some());

    // The shape core-metadata returns; the serial device has no address and is skipped.
    let edgex = known::load(&path("edgex/edgex-devices.example.json")).unwrap();
    let got: Vec<(String, String)> = edgex
        .iter()
        .map(|k| {
            (
                k.name.clone(),
                k.ip.map(|i| i.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("plc-12".to_string(), "10.20.0.12".to_string()),
            ("ahu-3".to_string(), "10.20.3.7".to_string())
        ]
    );
    assert!(edgex[0].labels.contains(&"profile:line-plc".to_string()));
}

/// `[Section]` and `Key=Value` lines of a unit file, in order.
fn unit_entries(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.to_string();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("edgetap.service:{}: not Key=Value: {line}", n + 1));
        assert!(
            !section.is_empty(),
            "edgetap.service:{}: outside a section",
            n + 1
        );
        out.push((section.clone(), k.to_string(), v.to_string()));
    }
    out
}

#[test]
fn systemd_unit() {
    let text = read("systemd/edgetap.service");
    let entries = unit_entries(&text);
    let all = |key: &str| -> Vec<&str> {
        entries
            .iter()
            .filter(|(s, k, _)| s == "Service" && k == key)
            .map(|(_, _, v)| v.as_str())
            .collect()
    };
    let one = |key: &str| -> &str {
        match all(key).as_slice() {
            [v] => v,
            other => panic!("[Service] {key}= given {} times", other.len()),
        }
    };
    let words = |v: &str| -> BTreeSet<String> { v.split_whitespace().map(String::from).collect() };

    assert!(text.contains("\nAmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN\n"));
    let caps = words("CAP_NET_RAW CAP_NET_ADMIN");
    assert_eq!(words(one("AmbientCapabilities")), caps);
    assert_eq!(words(one("CapabilityBoundingSet")), caps);
    assert_eq!(
        words(one("RestrictAddressFamilies")),
        words("AF_UNIX AF_INET AF_INET6 AF_PACKET AF_NETLINK")
    );
    for (k, v) in [
        ("User", "edgetap"),
        ("Group", "edgetap"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("StateDirectory", "edgetap"),
        ("LogsDirectory", "edgetap"),
        ("ConfigurationDirectory", "edgetap"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("Restart", "on-failure"),
        ("MemoryMax", "512M"),
    ] {
        assert_eq!(one(k), v, "[Service] {k}=");
    }
    assert!(one("ExecStart")
        .starts_with("/usr/local/bin/edgetap run --config /etc/edgetap/edgetap.toml"));
    // @system-service first (an allow list), then exclusions, with capset allowed back: edgetap
    // needs it to drop its capabilities.
    let filters = all("SystemCallFilter");
    assert_eq!(filters.first(), Some(&"@system-service"));
    if filters
        .iter()
        .any(|f| f.starts_with('~') && f.contains("@privileged"))
    {
        assert!(filters.contains(&"capset"), "{filters:?}");
    }
    // What would break capture.
    for k in [
        "PrivateNetwork",
        "PrivateUsers",
        "ProcSubset",
        "DynamicUser",
    ] {
        assert!(
            all(k).is_empty(),
            "[Service] {k}= breaks capture or the token's file mode"
        );
    }
    assert!(read("systemd/edgetap.sysusers")
        .lines()
        .any(|l| l.starts_with("u edgetap ")));

    if !have("systemd-analyze", "--version") {
        eprintln!("systemd-analyze not installed: unit not verified");
        return;
    }
    // `verify` wants an executable ExecStart: point it at the binary under test.
    let dir = std::env::temp_dir().join(format!("edgetap-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unit = dir.join("edgetap.service");
    std::fs::write(
        &unit,
        text.replace("/usr/local/bin/edgetap", env!("CARGO_BIN_EXE_edgetap")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Unknown keys and bad values are warnings (exit status 0) that name the file.
    let complaints: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("edgetap.service"))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "systemd-analyze verify: {said}"
    );

    // The exposure score, where this systemd can rate a unit file offline (252 and later).
    let sec = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&unit)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&sec.stdout);
    match report
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for edgetap.service: "))
        .and_then(|(_, r)| r.split_whitespace().next()?.parse::<f64>().ok())
    {
        Some(score) => {
            eprintln!("systemd-analyze security: exposure {score}");
            assert!(score <= 2.5, "exposure {score} (was 1.9):\n{report}");
        }
        None => eprintln!("systemd-analyze security --offline not available here"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn azure_iot_edge_manifest() {
    let m: Value = serde_json::from_str(&read("azure-iot-edge/deployment.json")).unwrap();
    let module = &m["modulesContent"]["$edgeAgent"]["properties.desired.modules.edgetap"];
    assert_eq!(module["type"], "docker");
    assert_eq!(module["status"], "running");
    assert_eq!(module["restartPolicy"], "always");
    assert!(module["env"]["EDGETAP_LOG"]["value"].is_string());
    let image = module["settings"]["image"].as_str().unwrap();
    assert!(image.contains("edgetap:"), "{image}");
    // createOptions is a JSON document in a string, at most 512 characters (or it must be split).
    let raw = module["settings"]["createOptions"].as_str().unwrap();
    assert!(
        raw.len() <= 512,
        "createOptions is {} characters",
        raw.len()
    );
    let opts: Value = serde_json::from_str(raw).unwrap();
    let host = &opts["HostConfig"];
    assert_eq!(host["NetworkMode"], "host");
    assert!(opts["NetworkingConfig"]["EndpointsConfig"]["host"].is_object());
    let caps: BTreeSet<&str> = host["CapAdd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(caps, BTreeSet::from(["NET_RAW", "NET_ADMIN"]));
    let binds: Vec<&str> = host["Binds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for target in ["/etc/edgetap", "/var/lib/edgetap", "/var/log/edgetap"] {
        assert!(
            binds.iter().any(|b| b.split(':').nth(1) == Some(target)),
            "no bind onto {target}: {binds:?}"
        );
    }
}

#[test]
fn edgex_compose() {
    let text = read("edgex/docker-compose.edgetap.yml");
    // The tiny check: YAML without tabs, indented by two, the keys that matter present.
    for (n, line) in text.lines().enumerate() {
        assert!(!line.contains('\t'), "line {}: a tab", n + 1);
        let indent = line.len() - line.trim_start().len();
        assert!(
            line.trim().is_empty() || indent % 2 == 0,
            "line {}: odd indentation",
            n + 1
        );
    }
    for needle in [
        "\nservices:\n",
        "\n  edgetap:\n",
        "\n  edgetap-known:\n",
        "network_mode: host",
        "- NET_RAW",
        "- NET_ADMIN",
        "http://edgex-core-metadata:59881/api/v3/device/all?limit=-1",
        "edgetap-known:/etc/edgetap/edgex:ro",
    ] {
        assert!(text.contains(needle), "compose file lacks `{needle}`");
    }
    // The known file the config names is the one the sidecar writes, where it is mounted.
    let cfg = RunConfig::load(&path("edgex/edgetap.toml")).unwrap();
    assert_eq!(
        cfg.known,
        [PathBuf::from("/etc/edgetap/edgex/edgex-devices.json")]
    );
    assert!(text.contains("/known/edgex-devices.json"));

    // The real parse, where Python's YAML module is installed.
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(path("edgex/docker-compose.edgetap.yml"))
        .output();
    let Some(doc) = out
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
    else {
        eprintln!("python3 with yaml not available: compose file checked by lines only");
        return;
    };
    let tap = &doc["services"]["edgetap"];
    assert_eq!(tap["network_mode"], "host");
    assert_eq!(tap["cap_add"], serde_json::json!(["NET_RAW", "NET_ADMIN"]));
    assert_eq!(tap["cap_drop"], serde_json::json!(["ALL"]));
    assert_eq!(
        tap["depends_on"]["edgetap-known"]["condition"],
        "service_healthy"
    );
    let sidecar = &doc["services"]["edgetap-known"];
    assert_eq!(sidecar["networks"], serde_json::json!(["edgex-network"]));
    assert_eq!(
        sidecar["healthcheck"]["test"],
        serde_json::json!(["CMD", "test", "-s", "/known/edgex-devices.json"])
    );
    for v in ["edgetap-known", "edgetap-state", "edgetap-logs"] {
        assert!(doc["volumes"].get(v).is_some(), "volume {v}");
    }
    // The sidecar's script, as the container's shell gets it (Compose turns `$$` into `$`).
    let script = sidecar["command"][0].as_str().unwrap().replace("$$", "$");
    let sh = Command::new("sh")
        .args(["-n", "-c", &script])
        .output()
        .unwrap();
    assert!(
        sh.status.success(),
        "sidecar script: {}",
        String::from_utf8_lossy(&sh.stderr)
    );
}

#[test]
fn containerfile() {
    let text = read("container/Containerfile");
    // Instructions, continuation lines joined.
    let joined = text.replace("\\\n", " ");
    let instrs: Vec<(&str, &str)> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once(' ').unwrap_or((l, "")))
        .collect();
    let of = |name: &str| -> Vec<&str> {
        instrs
            .iter()
            .filter(|(i, _)| *i == name)
            .map(|(_, a)| *a)
            .collect()
    };
    assert_eq!(
        of("FROM"),
        ["rust:1-bookworm AS build", "debian:bookworm-slim"]
    );
    let runs = of("RUN").join("\n");
    assert!(runs.contains("libpcap-dev") && runs.contains("libpcap0.8"));
    assert!(runs.contains("setcap cap_net_raw,cap_net_admin+ep /usr/local/bin/edgetap"));
    let user = of("USER");
    assert_eq!(user.len(), 1);
    assert!(!matches!(user[0], "root" | "0" | "0:0"), "runs as root");
    assert_eq!(of("EXPOSE"), ["8787"]);
    let entry: Vec<String> = serde_json::from_str(of("ENTRYPOINT")[0]).unwrap();
    assert_eq!(
        entry,
        [
            "/usr/local/bin/edgetap",
            "run",
            "--config",
            "/etc/edgetap/edgetap.toml"
        ]
    );
    // The config it copies in is the one checked above.
    assert!(of("COPY").contains(&"deploy/container/edgetap.toml /etc/edgetap/edgetap.toml"));
    // The build context keeps what the build needs.
    let ignore = read("container/Containerfile.dockerignore");
    for needed in [
        "src",
        "Cargo.toml",
        "Cargo.lock",
        "dissectors",
        "tools",
        "rules",
        "deploy",
    ] {
        assert!(
            !ignore
                .lines()
                .any(|l| l.trim().trim_start_matches('/') == needed),
            "{needed} is ignored"
        );
    }
}

#[test]
fn readme_links_resolve() {
    let mut stack = vec![path("")];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "md") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for link in text.split("](").skip(1) {
                let target = link.split(')').next().unwrap();
                if target.contains("://") || target.starts_with('#') {
                    continue;
                }
                let file = p.parent().unwrap().join(target.split('#').next().unwrap());
                assert!(file.exists(), "{}: broken link {target}", p.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} links");
}

/// The scripts find the binaries where cargo puts them: `scripts/target-dir.sh` asks cargo
/// (CARGO_TARGET_DIR relative or absolute), and no script names `target/` itself.
#[test]
fn scripts_find_binaries_where_cargo_puts_them() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (set, want) in [
        (None, repo.join("target")),
        (
            Some("/tmp/edgetap-td"),
            std::path::PathBuf::from("/tmp/edgetap-td"),
        ),
        (Some("rel/td"), repo.join("rel/td")),
    ] {
        let mut c = std::process::Command::new("bash");
        c.args(["-c", ". scripts/target-dir.sh; echo \"$TARGET_DIR\""])
            .current_dir(repo)
            .env_remove("CARGO_TARGET_DIR");
        if let Some(v) = set {
            c.env("CARGO_TARGET_DIR", v);
        }
        let out = c.output().unwrap_or_else(|e| panic!("bash: {e}"));
        let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
        // Cargo may report the default target dir of a workspace through a symlinked path.
        let canon =
            |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        assert!(
            got == want.to_string_lossy() || canon(std::path::Path::new(&got)) == canon(&want),
            "CARGO_TARGET_DIR={set:?}: {got} (want {})",
            want.display()
        );
    }
    for dir in ["scripts", "bench", "fuzz"] {
        for e in std::fs::read_dir(repo.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}")) {
            let p = e.unwrap_or_else(|e| panic!("{e}")).path();
            if p.extension().is_some_and(|x| x == "sh") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                for bad in ["target/release/", "target/debug/"] {
                    assert!(
                        !text
                            .lines()
                            .any(|l| !l.trim_start().starts_with('#') && l.contains(bad)),
                        "{} names {bad} (use scripts/target-dir.sh)",
                        p.display()
                    );
                }
            }
        }
    }
}
