//! The page in a real browser: headless Debian Chromium (`/usr/bin/chromium`, package
//! `chromium`) loads `/` from `edgetap serve` over the learned site scenario, with the token
//! given in the address as a person would; the rendered DOM must hold the inventory, the
//! alerts with their Acknowledge buttons and the SVG peer graph (so the inline script ran under
//! the page's Content-Security-Policy), and a screenshot is written to
//! `<target>/page-screenshot.png`.

#[path = "common/live.rs"]
mod live;

#[path = "common/api.rs"]
mod apihelp;

use apihelp::{state_copy, synthetic_snapshot, InProc, Serve};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "page-T0ken";

/// Runs headless Chromium on `url` with `args`; returns what it printed on stdout.
fn chromium(args: &[&str], url: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let bin = live::find_cmd("chromium").unwrap_or_else(|| {
        panic!("`chromium` not found: install Debian's chromium package (scripts/test.sh does)")
    });
    let n = N.fetch_add(1, Ordering::Relaxed);
    let base = std::env::temp_dir().join(format!("edgetap-chromium-{}-{n}", std::process::id()));
    let profile = base.join("profile");
    std::fs::create_dir_all(&profile).unwrap_or_else(|e| panic!("{e}"));
    let out = base.join("stdout");
    let err = base.join("stderr");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&err).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("starting chromium: {e}"));
    let st = live::wait_timeout(&mut child, Duration::from_secs(120), "headless chromium");
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(st.success(), "chromium exited with {st}:\n{stderr}");
    let _ = std::fs::remove_dir_all(&base);
    stdout
}

/// Text as Chromium serialises it in a text node.
fn html_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| live::repo().join("target"))
}

#[test]
fn page_renders_inventory_alerts_and_graph_in_chromium() {
    let s = Serve::start(&state_copy("page"), "127.0.0.1", Some(TOKEN));
    let devices = s.json("/api/v1/devices");
    let devices = devices["devices"].as_array().unwrap();
    let graph = s.json("/api/v1/graph");
    let alerts = s.json("/api/v1/alerts?limit=200");
    let alerts = alerts["alerts"].as_array().unwrap().clone();
    let url = s.url(&format!("/?token={TOKEN}"));

    let t0 = Instant::now();
    let dom = chromium(&["--virtual-time-budget=5000", "--dump-dom"], &url);
    eprintln!(
        "chromium --dump-dom: {:.1} s, {} bytes",
        t0.elapsed().as_secs_f64(),
        dom.len()
    );
    assert!(dom.contains("<svg id=\"graph\""), "no graph in\n{dom}");
    assert!(
        !dom.contains("class=\"shown\""),
        "the page shows an error banner:\n{}",
        dom.split("id=\"banner\"")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take(400)
            .collect::<String>()
    );

    // The inventory: every device, by name.
    assert!(dom.contains(">boiler-plc<"), "no boiler-plc in the page");
    let inventory = dom
        .split("<table id=\"inventory\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no inventory table"));
    assert_eq!(
        inventory.matches("<tr data-id=").count(),
        devices.len(),
        "inventory rows"
    );
    for d in devices {
        if let Some(n) = d["name"].as_str() {
            assert!(
                inventory.contains(&format!("<b>{}</b>", html_text(n))),
                "device {n}"
            );
        }
    }

    // The alerts, newest first, each with its signature and an Acknowledge button.
    let table = dom
        .split("<table id=\"alerts\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no alerts table"));
    let rows: Vec<&str> = table.split("<tr ").skip(1).collect();
    assert_eq!(rows.len(), alerts.len(), "alert rows");
    for (row, a) in rows.iter().zip(&alerts) {
        let id = a["id"].as_str().unwrap();
        assert!(
            row.contains(&format!("data-id=\"{id}\"")),
            "alerts out of order at {id}"
        );
        let sig = html_text(a["signature"].as_str().unwrap());
        assert!(row.contains(&sig), "no signature {sig:?} in {row}");
        assert!(
            row.contains(">Acknowledge</button>"),
            "no Acknowledge button for {id}"
        );
    }
    let cats = table.matches("class=\"cat\"").count();
    assert_eq!(cats, alerts.len());

    // The graph: a node per device, a path per edge, new and alerted edges marked.
    let svg = dom
        .split("<svg id=\"graph\"")
        .nth(1)
        .and_then(|t| t.split("</svg>").next())
        .unwrap_or("");
    let nodes = graph["nodes"].as_array().unwrap();
    let edges = graph["edges"].as_array().unwrap();
    assert_eq!(
        svg.matches("class=\"node").count(),
        nodes.len(),
        "SVG nodes"
    );
    assert_eq!(
        svg.matches("<circle r=\"14\"").count(),
        nodes.len(),
        "SVG circles"
    );
    assert_eq!(
        svg.matches("class=\"edge").count(),
        edges.len(),
        "SVG edges"
    );
    let fresh = edges
        .iter()
        .filter(|e| e["learned"] == false || e["alerted"] == true)
        .count();
    assert!(fresh > 0);
    assert_eq!(
        svg.matches("class=\"edge new\"").count(),
        fresh,
        "new edges"
    );
    assert!(
        svg.contains("stroke=\"#8c564b\""),
        "no Modbus-coloured edge"
    );
    assert!(
        svg.contains(">boiler-plc</text>"),
        "no boiler-plc label in the graph"
    );
    // The header's counters.
    assert!(
        dom.contains("id=\"mode\" class=\"badge protecting\">protecting<"),
        "mode badge"
    );
    let total: usize = alerts.len();
    assert!(
        dom.contains(&format!("id=\"nalerts\">{total}<")),
        "alert count in the header"
    );
    assert!(s.stop().success());
}

/// The part of the DOM between `start` and the next `end`.
fn part<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    dom.split(start)
        .nth(1)
        .and_then(|t| t.split(end).next())
        .unwrap_or_else(|| panic!("no {start} in the page"))
}

#[test]
fn page_walks_the_pages_of_a_larger_site() {
    // 7 items a page: the page has to follow `next` to show the 60 devices and 90 edges.
    let snap = synthetic_snapshot(60, 90, 5);
    let srv = InProc::start(snap, 7, Some(TOKEN));
    assert!(srv.json("/api/v1/devices")["next"].is_string());
    let dom = chromium(
        &["--virtual-time-budget=5000", "--dump-dom"],
        &srv.url(&format!("/?token={TOKEN}")),
    );
    assert!(
        !dom.contains("class=\"shown\""),
        "the page shows an error banner: {}",
        part(&dom, "id=\"banner\"", "</div>")
    );
    let inventory = part(&dom, "<table id=\"inventory\">", "</table>");
    assert_eq!(
        inventory.matches("<tr data-id=").count(),
        60,
        "inventory rows"
    );
    assert!(
        dom.contains("id=\"inventory-count\">60 devices<"),
        "inventory count"
    );
    let svg = part(&dom, "<svg id=\"graph\"", "</svg>");
    assert_eq!(svg.matches("class=\"node").count(), 60, "SVG nodes");
    assert_eq!(svg.matches("class=\"edge").count(), 90, "SVG edges");
    assert!(
        dom.contains("id=\"graph-count\">60 devices, 90 edges, 9 new or alerted<"),
        "graph count"
    );
    srv.stop();

    // A site larger than the page shows: its first pages, and it says so.
    let snap = synthetic_snapshot(2600, 3000, 10);
    let srv = InProc::start(snap, 500, Some(TOKEN));
    let t0 = Instant::now();
    let dom = chromium(
        &["--virtual-time-budget=10000", "--dump-dom"],
        &srv.url(&format!("/?token={TOKEN}")),
    );
    eprintln!(
        "chromium on 2600 devices: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        !dom.contains("class=\"shown\""),
        "the page shows an error banner: {}",
        part(&dom, "id=\"banner\"", "</div>")
    );
    let inventory = part(&dom, "<table id=\"inventory\">", "</table>");
    assert_eq!(
        inventory.matches("<tr data-id=").count(),
        2000,
        "inventory rows"
    );
    assert!(
        dom.contains("id=\"inventory-count\">2000 devices shown (the first by id of 2600)<"),
        "inventory count: {}",
        part(&dom, "id=\"inventory-count\"", "</span>")
    );
    let svg = part(&dom, "<svg id=\"graph\"", "</svg>");
    assert_eq!(svg.matches("class=\"edge").count(), 2000, "SVG edges");
    assert!(
        part(&dom, "id=\"graph-count\"", "</span>").contains("(the first of 3000 edges)"),
        "graph count: {}",
        part(&dom, "id=\"graph-count\"", "</span>")
    );
    assert!(dom.contains("id=\"ndevices\">2600<"), "header devices");
    srv.stop();
}

#[test]
fn page_screenshot() {
    let s = Serve::start(&state_copy("shot"), "127.0.0.1", Some(TOKEN));
    let dir = target_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let png = dir.join("page-screenshot.png");
    let _ = std::fs::remove_file(&png);
    chromium(
        &[
            "--virtual-time-budget=5000",
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,1000",
        ],
        &s.url(&format!("/?token={TOKEN}")),
    );
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // Width and height from the IHDR chunk.
    let w = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let h = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    assert_eq!((w, h), (1400, 1000), "screenshot size");
    assert!(
        bytes.len() > 30_000,
        "a {} byte screenshot is too plain to be the page",
        bytes.len()
    );
    eprintln!("screenshot: {}", png.display());
    let v: Value = s.json("/healthz");
    assert_eq!(v["status"], "ok");
    assert!(s.stop().success());
}

/// A WebDriver session on headless Chromium through Debian's chromedriver (package
/// `chromium-driver`), spoken to over plain HTTP.
struct Driver {
    addr: std::net::SocketAddr,
    session: String,
    child: live::Guard,
    profile: PathBuf,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    fn start() -> Driver {
        let bin = live::find_cmd("chromedriver").unwrap_or_else(|| {
            panic!(
                "`chromedriver` not found: install Debian's chromium-driver package \
                 (scripts/test.sh does)"
            )
        });
        let port = live::free_tcp_port();
        let base = std::env::temp_dir().join(format!(
            "edgetap-chromedriver-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(base.join("profile")).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(base.join("log")).unwrap_or_else(|e| panic!("{e}")))
            .spawn()
            .unwrap_or_else(|e| panic!("starting chromedriver: {e}"));
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut d = Driver {
            addr,
            session: String::new(),
            child: live::Guard::new(child),
            profile: base,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while d.call("GET", "/status", None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": live::find_cmd("chromium").unwrap_or_else(|| PathBuf::from("/usr/bin/chromium")),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1400,1000",
                         format!("--user-data-dir={}", d.profile.join("profile").display())]
            }
        }}});
        let v = d
            .call("POST", "/session", Some(&caps))
            .unwrap_or_else(|e| panic!("new WebDriver session: {e}"));
        d.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v}"))
            .to_string();
        d
    }

    /// A WebDriver command; its `value`, or the error it answered.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let r = apihelp::http(
            self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_slice(&r.body).map_err(|e| format!("{e}: {}", r.text()))?;
        if r.status == 200 {
            Ok(v["value"].clone())
        } else {
            Err(format!("{method} {path}: {} {}", r.status, v["value"]))
        }
    }

    fn cmd(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{what}", self.session);
        self.call(method, &path, body.as_ref())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Element ids matching a CSS selector.
    fn find(&self, css: &str) -> Vec<String> {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(serde_json::json!({"using": "css selector", "value": css})),
        );
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits up to 20 s for `css` to match; the matches.
    fn wait_for(&self, css: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self.find(css);
            if !found.is_empty() {
                return found;
            }
            assert!(Instant::now() < deadline, "nothing matched {css} in 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn attr(&self, el: &str, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{el}/attribute/{name}"), None)
            .as_str()
            .map(str::to_string)
    }

    /// An attribute, or `Err` when the element went stale (the page re-rendered the table
    /// between finding it and reading it: the caller looks again).
    fn attr_fresh(&self, el: &str, name: &str) -> Result<Option<String>, String> {
        let path = format!("/session/{}/element/{el}/attribute/{name}", self.session);
        match self.call("GET", &path, None) {
            Ok(v) => Ok(v.as_str().map(str::to_string)),
            Err(e) if e.contains("stale element") => Err(e),
            Err(e) => panic!("{e}"),
        }
    }

    fn click(&self, el: &str) {
        self.cmd(
            "POST",
            &format!("/element/{el}/click"),
            Some(serde_json::json!({})),
        );
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        if let Some(mut c) = self.child.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[test]
fn acknowledge_button_and_filters_work_in_chromium() {
    let s = Serve::start(&state_copy("click"), "127.0.0.1", Some(TOKEN));
    let d = Driver::start();
    d.cmd(
        "POST",
        "/url",
        Some(serde_json::json!({"url": s.url(&format!("/?token={TOKEN}"))})),
    );
    // The token left the address bar once read.
    let url = d.cmd("GET", "/url", None);
    assert_eq!(
        url.as_str(),
        Some(s.url("/").as_str()),
        "the token stays in the address"
    );

    // Click the first Acknowledge button: the store has it, and the row shows it.
    let buttons = d.wait_for("#alerts button.ack");
    let id = d
        .attr(&buttons[0], "data-id")
        .unwrap_or_else(|| panic!("button without data-id"));
    assert_eq!(
        s.json(&format!("/api/v1/alerts/{id}"))["acknowledged"],
        false
    );
    d.click(&buttons[0]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.json(&format!("/api/v1/alerts/{id}"))["acknowledged"] != true {
        assert!(
            Instant::now() < deadline,
            "the click did not acknowledge {id}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    d.wait_for(&format!("#alerts tr.acked[data-id=\"{id}\"]"));
    assert_eq!(d.find("#alerts button.ack").len(), buttons.len() - 1);

    // Filter by category: only that category's rows.
    let all = s.json("/api/v1/alerts?limit=500");
    let cat = all["alerts"][0]["category"].as_str().unwrap().to_string();
    let n = all["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["category"] == cat.as_str())
        .count();
    let opt = d.wait_for(&format!("#f-category option[value=\"{cat}\"]"));
    d.click(&opt[0]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let cells = d.find("#alerts td.cat");
        let titles: Result<Vec<Option<String>>, String> =
            cells.iter().map(|c| d.attr_fresh(c, "title")).collect();
        let titles: Vec<String> = titles.unwrap_or_default().into_iter().flatten().collect();
        if titles.len() == n && titles.iter().all(|t| *t == cat) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "category filter {cat}: rows {titles:?}, expected {n}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Clicking a device in the graph filters the alerts to it.
    let plc = s.json("/api/v1/devices/boiler-plc");
    let plc_id = plc["id"].as_str().unwrap();
    let all_opt = d.wait_for("#f-category option[value=\"\"]");
    d.click(&all_opt[0]);
    let expect = s.json(&format!("/api/v1/alerts?device={plc_id}&limit=500"));
    let expect = expect["alerts"].as_array().unwrap().len();
    assert!(expect > 0);
    let node = d.wait_for(&format!("#graph g.node[data-id=\"{plc_id}\"]"));
    d.click(&node[0]);
    d.wait_for(&format!("#graph g.node.selected[data-id=\"{plc_id}\"]"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.find("#alerts tbody tr[data-id]").len() != expect {
        assert!(
            Instant::now() < deadline,
            "device filter: not {expect} rows"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(d);
    assert!(s.stop().success());
}
