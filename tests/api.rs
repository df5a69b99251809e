//! The HTTP API end to end: the real binary learns the site scenario into a state directory
//! (`replay --learn base.pcap --state DIR attacks.pcap`), `edgetap serve` serves copies of it,
//! and every endpoint is checked (status codes, bodies, filters, pagination, acknowledgement
//! across restarts, DOT, Prometheus text, the OpenAPI document), with bad parameters, unknown
//! ids, serve-mode refusals and the token rules. The commands `run` sends to its pipeline are
//! checked in process (`api::serve_on` with a channel). A schemathesis run fuzzes the API from
//! its own OpenAPI document (`tests/api_fuzz.py`).

#[path = "common/live.rs"]
mod live;

#[path = "common/api.rs"]
mod apihelp;

use apihelp::{fixture, http, state_copy, synthetic_snapshot, walk, InProc, Serve};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

fn alert_ids(v: &Value) -> Vec<String> {
    v["alerts"]
        .as_array()
        .unwrap_or_else(|| panic!("no alerts array: {v}"))
        .iter()
        .map(|a| {
            a["id"]
                .as_str()
                .unwrap_or_else(|| panic!("alert without id: {a}"))
                .to_string()
        })
        .collect()
}

/// Every alert, through the API, in one page.
fn all_alerts(s: &Serve) -> Vec<Value> {
    let v = s.json("/api/v1/alerts?limit=500");
    assert!(v["next"].is_null(), "more than 500 alerts? {}", v["next"]);
    v["alerts"].as_array().cloned().unwrap_or_default()
}

fn assert_error(r: &apihelp::Resp, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{what}: error bodies are JSON"
    );
    let v = r.json();
    assert!(
        v["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: no error message in {v}"
    );
}

#[test]
fn health_inventory_graph_stats_metrics_openapi_page() {
    let f = fixture();
    eprintln!("fixture: scenario and replay in {:.1} s", f.setup_secs);
    let s = Serve::start(&state_copy("endpoints"), "127.0.0.1", None);

    let h = s.json("/healthz");
    assert_eq!(
        h,
        json!({"status": "ok", "mode": "protecting", "capturing": false,
               "sensor": {"blind_now": false, "gaps": 0, "last_gap": null}})
    );

    // The inventory.
    let d = s.json("/api/v1/devices");
    let devices = d["devices"].as_array().expect("devices array");
    assert!(
        d["next"].is_null(),
        "a small site fits in one page: {}",
        d["next"]
    );
    assert!(devices.len() >= 8, "only {} devices", devices.len());
    let ids: Vec<&str> = devices.iter().filter_map(|d| d["id"].as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "devices are sorted by id");
    let plc = devices
        .iter()
        .find(|d| d["name"] == "boiler-plc")
        .unwrap_or_else(|| panic!("no boiler-plc in {d}"));
    for k in [
        "id", "macs", "ips", "vendor", "roles", "facts", "first_ns", "last_ns",
    ] {
        assert!(plc.get(k).is_some(), "boiler-plc has no {k}: {plc}");
    }
    assert!(
        plc["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "modbus_server"),
        "{plc}"
    );
    assert!(!plc["facts"].as_array().unwrap().is_empty(), "{plc}");
    let plc_id = plc["id"].as_str().unwrap();
    assert_eq!(&s.json(&format!("/api/v1/devices/{plc_id}")), plc);
    assert_eq!(&s.json("/api/v1/devices/boiler-plc"), plc, "by name too");
    assert_error(
        &s.get("/api/v1/devices/no-such-device"),
        404,
        "unknown device",
    );

    // The graph, as JSON and DOT.
    let g = s.json("/api/v1/graph");
    let nodes = g["nodes"].as_array().expect("nodes");
    let edges = g["edges"].as_array().expect("edges");
    assert!(
        g["next"].is_null(),
        "a small site fits in one page: {}",
        g["next"]
    );
    assert_eq!(nodes.len(), devices.len());
    assert!(edges.len() >= 8, "{} edges", edges.len());
    let node_ids: HashSet<&str> = nodes.iter().filter_map(|n| n["id"].as_str()).collect();
    for e in edges {
        for end in ["client", "server"] {
            assert!(
                node_ids.contains(e[end].as_str().unwrap_or("")),
                "{end} of {e}"
            );
        }
        for k in [
            "transport",
            "port",
            "protocol",
            "packets",
            "bytes",
            "first_ns",
            "last_ns",
        ] {
            assert!(e.get(k).is_some(), "edge without {k}: {e}");
        }
    }
    let fresh = edges
        .iter()
        .filter(|e| e["learned"] == false || e["alerted"] == true)
        .count();
    assert!(fresh > 0, "the attacks made no new or alerted edge");
    assert_eq!(s.json("/api/v1/graph?format=json"), g);
    let dot = s.get("/api/v1/graph?format=dot");
    assert_eq!(dot.status, 200);
    assert_eq!(
        dot.header("content-type"),
        Some("text/vnd.graphviz; charset=utf-8")
    );
    let dot = dot.text();
    assert!(dot.starts_with("digraph edgetap {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    assert!(
        !dot.contains("truncated"),
        "a small site's DOT is whole: {dot}"
    );
    assert!(dot.contains("label=\"boiler-plc\\n"), "{dot}");
    assert!(dot.contains("label=\"modbus/502\""), "{dot}");
    assert_eq!(dot.matches(" -> ").count(), edges.len(), "{dot}");
    assert_eq!(
        dot.matches("style=dashed").count(),
        fresh,
        "new and alerted edges are dashed:\n{dot}"
    );

    // Paging walks give every device and every edge once, whatever the page size.
    let get = |p: &str| s.json(p);
    check_walks(&get, devices, nodes, edges, &[1, 3, 7]);

    // Stats and metrics.
    let alerts = all_alerts(&s);
    let st = s.json("/api/v1/stats");
    assert!(st["packets"].as_u64().unwrap_or(0) > 1000, "{st}");
    assert!(
        st["bytes"].as_u64().unwrap_or(0) > st["packets"].as_u64().unwrap(),
        "{st}"
    );
    assert_eq!(st["devices"], devices.len());
    assert_eq!(st["edges"], edges.len());
    assert_eq!(st["mode"], "protecting");
    let by_cat: u64 = st["alerts"]
        .as_object()
        .expect("alerts per category")
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_cat, alerts.len() as u64, "{st}");
    assert!(st["pdus"]["modbus"].as_u64().unwrap_or(0) > 0, "{st}");

    let m = s.get("/metrics");
    assert_eq!(m.status, 200);
    assert_eq!(
        m.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let m = m.text();
    let sample = |name: &str| -> f64 {
        m.lines()
            .find(|l| l.split(' ').next() == Some(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no sample {name} in\n{m}"))
    };
    for fam in [
        "edgetap_packets_total",
        "edgetap_bytes_total",
        "edgetap_drops_total",
        "edgetap_flows_total",
        "edgetap_pdus_total",
        "edgetap_alerts_total",
        "edgetap_store_bytes",
        "edgetap_devices",
        "edgetap_edges",
    ] {
        assert!(m.contains(&format!("# HELP {fam} ")), "no HELP for {fam}");
        let kind = if fam.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        assert!(
            m.contains(&format!("# TYPE {fam} {kind}\n")),
            "no TYPE for {fam}"
        );
    }
    assert_eq!(
        sample("edgetap_packets_total"),
        st["packets"].as_f64().unwrap()
    );
    assert_eq!(sample("edgetap_devices"), devices.len() as f64);
    assert_eq!(sample("edgetap_edges"), edges.len() as f64);
    assert!(sample("edgetap_store_bytes") > 0.0);
    assert!(sample("edgetap_drops_total{kind=\"kernel\"}") == 0.0);
    assert!(sample("edgetap_pdus_total{proto=\"modbus\"}") > 0.0);
    let mut alert_sum = 0.0;
    for c in [
        "lateral_movement",
        "denial_of_service",
        "data_exfiltration",
        "command_and_control",
        "unauthorized_access",
        "ics_control",
        "availability",
        "protocol_anomaly",
    ] {
        alert_sum += sample(&format!("edgetap_alerts_total{{category=\"{c}\"}}"));
    }
    assert_eq!(alert_sum, alerts.len() as f64);

    // The OpenAPI document lists every endpoint, with parameters and error bodies.
    let doc = s.json("/api/v1/openapi.json");
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (p, methods) in [
        ("/", &["get"][..]),
        ("/healthz", &["get"]),
        ("/metrics", &["get"]),
        ("/api/v1/openapi.json", &["get"]),
        ("/api/v1/alerts", &["get"]),
        ("/api/v1/alerts/{id}", &["get"]),
        ("/api/v1/alerts/{id}/ack", &["post"]),
        ("/api/v1/alerts/{id}/learn", &["post"]),
        ("/api/v1/mode", &["get", "put"]),
        ("/api/v1/devices", &["get"]),
        ("/api/v1/devices/{id}", &["get"]),
        ("/api/v1/graph", &["get"]),
        ("/api/v1/stats", &["get"]),
    ] {
        for m in methods {
            let op = &paths
                .get(p)
                .unwrap_or_else(|| panic!("{p} is not in the OpenAPI document"))[m];
            assert!(op.is_object(), "{m} {p} is not in the OpenAPI document");
            assert!(op["responses"]["400"].is_object(), "{m} {p}: no 400");
        }
    }
    assert_eq!(paths.len(), 13, "paths: {:?}", paths.keys());
    assert_eq!(
        doc["components"]["parameters"]["limit"]["schema"]["maximum"],
        500
    );
    let list_params: Vec<&str> = doc["paths"]["/api/v1/alerts"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["$ref"].as_str())
        .collect();
    assert_eq!(list_params.len(), 5, "{list_params:?}");
    assert!(doc["components"]["schemas"]["Error"]["required"] == json!(["error"]));

    // The page.
    let p = s.get("/");
    assert_eq!(p.status, 200);
    assert_eq!(p.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = p.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'sha256-"),
        "{csp}"
    );
    assert!(p.text().contains("<svg id=\"graph\""));
    assert_eq!(p.header("x-content-type-options"), Some("nosniff"));
    assert!(s.stop().success());
}

/// Walks `/api/v1/devices` and `/api/v1/graph` with each limit: every device once and in id
/// order, every edge once, every node at least once, each page within its limit and holding
/// the nodes of its edges.
fn check_walks(
    get: &dyn Fn(&str) -> Value,
    devices: &[Value],
    nodes: &[Value],
    edges: &[Value],
    limits: &[usize],
) {
    let key = |e: &Value| {
        format!(
            "{} {} {} {:05} {:020}",
            e["client"].as_str().unwrap(),
            e["server"].as_str().unwrap(),
            e["transport"].as_str().unwrap(),
            e["port"].as_u64().unwrap(),
            e["first_ns"].as_u64().unwrap()
        )
    };
    let mut want_edges: Vec<String> = edges.iter().map(key).collect();
    want_edges.sort();
    let want_nodes: HashSet<&str> = nodes.iter().filter_map(|n| n["id"].as_str()).collect();
    for &limit in limits {
        let pages = walk(get, &format!("/api/v1/devices?limit={limit}"));
        let mut walked = Vec::new();
        for p in &pages {
            let list = p["devices"].as_array().expect("devices");
            assert!(
                !list.is_empty() && list.len() <= limit,
                "limit {limit}: {} devices",
                list.len()
            );
            walked.extend(list.iter().cloned());
        }
        assert_eq!(walked, devices, "devices, limit {limit}");
        assert_eq!(
            pages.len(),
            devices.len().div_ceil(limit),
            "pages, limit {limit}"
        );

        let pages = walk(get, &format!("/api/v1/graph?limit={limit}"));
        let (mut got_edges, mut got_nodes) = (Vec::new(), HashSet::new());
        for p in &pages {
            let page_nodes: HashSet<&str> = p["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .filter_map(|n| n["id"].as_str())
                .collect();
            let page_edges = p["edges"].as_array().expect("edges");
            let mut ends = HashSet::new();
            for e in page_edges {
                for end in ["client", "server"] {
                    let id = e[end].as_str().unwrap();
                    assert!(
                        page_nodes.contains(id),
                        "limit {limit}: {end} of {e} not in its page"
                    );
                    ends.insert(id);
                }
                got_edges.push(key(e));
            }
            let isolated = page_nodes.iter().filter(|n| !ends.contains(*n)).count();
            let items = page_edges.len() + isolated;
            assert!(
                items > 0 && items <= limit,
                "limit {limit}: {items} items in a page"
            );
            got_nodes.extend(page_nodes.iter().map(|n| n.to_string()));
        }
        let mut sorted = got_edges.clone();
        sorted.sort();
        assert_eq!(got_edges, sorted, "edges are sorted, limit {limit}");
        assert_eq!(got_edges, want_edges, "edges, limit {limit}");
        let got_nodes: HashSet<&str> = got_nodes.iter().map(String::as_str).collect();
        assert_eq!(got_nodes, want_nodes, "nodes, limit {limit}");
    }
}

#[test]
fn alerts_list_filters_pagination_and_lookup() {
    let f = fixture();
    let s = Serve::start(&state_copy("alerts"), "127.0.0.1", None);
    let alerts = all_alerts(&s);
    assert!(alerts.len() >= 17, "{} alerts", alerts.len());

    // The store holds every alert replay printed.
    let eve_ids: HashSet<String> = f
        .eve
        .iter()
        .map(|e| {
            e["alert"]["metadata"]["edgetap"]["alert_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let api_ids: HashSet<String> = alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(api_ids, eve_ids);

    // Newest first; each alert is the stored record plus `ts` and its EVE form.
    let ts: Vec<u64> = alerts
        .iter()
        .map(|a| a["ts_ns"].as_u64().unwrap())
        .collect();
    assert!(
        ts.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {ts:?}"
    );
    for a in &alerts {
        for k in [
            "id",
            "ts",
            "ts_ns",
            "signature",
            "category",
            "severity",
            "src_ip",
            "src_port",
            "dest_ip",
            "dest_port",
            "src_device",
            "dest_device",
            "evidence",
            "episode",
            "acknowledged",
            "eve",
        ] {
            assert!(a.get(k).is_some(), "alert without {k}: {a}");
        }
        assert_eq!(a["acknowledged"], false);
        assert_eq!(a["eve"]["event_type"], "alert");
        assert_eq!(a["eve"]["alert"]["signature"], a["signature"]);
        assert_eq!(a["eve"]["alert"]["category"], a["category"]);
        assert_eq!(
            a["eve"]["alert"]["metadata"]["edgetap"]["alert_id"],
            a["id"]
        );
        let t = a["ts"].as_str().unwrap();
        assert!(t.ends_with('Z') && t.len() == 27, "{t}");
    }

    // Pagination walks every alert once, in the same order.
    for limit in [1usize, 3, 7] {
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let path = match &cursor {
                Some(c) => format!("/api/v1/alerts?limit={limit}&cursor={c}"),
                None => format!("/api/v1/alerts?limit={limit}"),
            };
            let v = s.json(&path);
            let ids = alert_ids(&v);
            assert!(ids.len() <= limit);
            assert!(!ids.is_empty(), "an empty page at {path}");
            walked.extend(ids);
            match v["next"].as_str() {
                Some(n) => cursor = Some(n.to_string()),
                None => break,
            }
        }
        let expected: Vec<String> = alerts
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(walked, expected, "limit {limit}");
    }
    let first = s.json("/api/v1/alerts");
    assert_eq!(
        alert_ids(&first).len(),
        alerts.len().min(100),
        "default limit"
    );

    // Category: only that category, all of it.
    let mut per_cat: BTreeMap<String, usize> = BTreeMap::new();
    for a in &alerts {
        *per_cat
            .entry(a["category"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(per_cat.len() >= 6, "categories: {per_cat:?}");
    for (c, n) in &per_cat {
        let v = s.json(&format!("/api/v1/alerts?category={c}&limit=500"));
        let got = v["alerts"].as_array().unwrap();
        assert_eq!(got.len(), *n, "category {c}");
        assert!(
            got.iter().all(|a| a["category"] == c.as_str()),
            "category {c}"
        );
        // And paged with a filter.
        let v = s.json(&format!("/api/v1/alerts?category={c}&limit=1"));
        assert_eq!(v["next"].is_null(), *n == 1, "category {c} next");
    }
    let none = s.json("/api/v1/alerts?category=availability&device=no-such-device");
    assert_eq!(none, json!({"alerts": [], "next": null}));

    // Device: by name or id, matching the source or the destination.
    let touches = |a: &Value, k: &str, v: &str| a["src_device"][k] == v || a["dest_device"][k] == v;
    let plc_alerts: Vec<&Value> = alerts
        .iter()
        .filter(|a| touches(a, "name", "boiler-plc"))
        .collect();
    assert!(!plc_alerts.is_empty(), "no alert names boiler-plc");
    let end = if plc_alerts[0]["dest_device"]["name"] == "boiler-plc" {
        "dest_device"
    } else {
        "src_device"
    };
    let plc_id = plc_alerts[0][end]["id"].clone();
    let by_name = s.json("/api/v1/alerts?device=boiler-plc&limit=500");
    assert_eq!(
        by_name["alerts"].as_array().unwrap().len(),
        plc_alerts.len()
    );
    assert!(by_name["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| touches(a, "name", "boiler-plc")));
    let by_id = s.json(&format!(
        "/api/v1/alerts?device={}&limit=500",
        plc_id.as_str().unwrap()
    ));
    assert_eq!(by_id, by_name);

    // Since: ns and RFC 3339 (the `ts` of an alert, rounded down to the microsecond).
    let mid = &alerts[alerts.len() / 2];
    let mid_ns = mid["ts_ns"].as_u64().unwrap();
    let expect = alerts
        .iter()
        .filter(|a| a["ts_ns"].as_u64().unwrap() >= mid_ns)
        .count();
    let v = s.json(&format!("/api/v1/alerts?since={mid_ns}&limit=500"));
    assert_eq!(v["alerts"].as_array().unwrap().len(), expect);
    let micros = mid_ns / 1000 * 1000;
    let expect_us = alerts
        .iter()
        .filter(|a| a["ts_ns"].as_u64().unwrap() >= micros)
        .count();
    let v = s.json(&format!(
        "/api/v1/alerts?since={}&limit=500",
        mid["ts"].as_str().unwrap()
    ));
    assert_eq!(v["alerts"].as_array().unwrap().len(), expect_us);
    let v = s.json("/api/v1/alerts?since=2999-01-01T00:00:00Z");
    assert_eq!(v, json!({"alerts": [], "next": null}));
    let v = s.json("/api/v1/alerts?since=1970-01-01T01:00:00%2B01:00&limit=500");
    assert_eq!(v["alerts"].as_array().unwrap().len(), alerts.len());

    // By id.
    for a in alerts.iter().take(5) {
        let id = a["id"].as_str().unwrap();
        assert_eq!(&s.json(&format!("/api/v1/alerts/{id}")), a);
    }
    assert_error(
        &s.get("/api/v1/alerts/a0000000000000000"),
        404,
        "unknown alert",
    );
    assert_error(&s.get("/api/v1/alerts/%2e%2e%2fetc"), 404, "odd alert id");
    assert!(s.stop().success());
}

#[test]
fn bad_parameters_unknown_ids_and_methods() {
    let s = Serve::start(&state_copy("bad"), "127.0.0.1", None);
    let id = all_alerts(&s)[0]["id"].as_str().unwrap().to_string();
    for path in [
        "/api/v1/alerts?category=nope",
        "/api/v1/alerts?category=",
        "/api/v1/alerts?limit=0",
        "/api/v1/alerts?limit=501",
        "/api/v1/alerts?limit=-1",
        "/api/v1/alerts?limit=ten",
        "/api/v1/alerts?limit=1&limit=2",
        "/api/v1/alerts?since=yesterday",
        "/api/v1/alerts?since=2026-13-01T00:00:00Z",
        "/api/v1/alerts?since=99999999999999999999",
        "/api/v1/alerts?since=",
        "/api/v1/alerts?cursor=zz",
        "/api/v1/alerts?cursor=0011",
        "/api/v1/alerts?cursor=",
        "/api/v1/alerts?device=",
        "/api/v1/alerts?colour=red",
        "/api/v1/alerts?%ff=1",
        "/api/v1/devices?all=1",
        "/api/v1/devices?limit=0",
        "/api/v1/devices?limit=501",
        "/api/v1/devices?limit=x",
        "/api/v1/devices?limit=1&limit=1",
        "/api/v1/devices?cursor=",
        "/api/v1/devices?cursor=zz",
        "/api/v1/devices?cursor=0",
        "/api/v1/devices?cursor=ABCD",
        "/api/v1/graph?format=svg",
        "/api/v1/graph?format=dot&x=1",
        "/api/v1/graph?limit=0",
        "/api/v1/graph?limit=501",
        "/api/v1/graph?cursor=",
        "/api/v1/graph?cursor=6400",
        "/api/v1/graph?cursor=zz",
        "/api/v1/graph?format=dot&limit=5",
        "/api/v1/graph?format=dot&cursor=6e0064",
        "/api/v1/stats?x",
        "/api/v1/mode?x=1",
        "/metrics?debug=1",
        "/healthz?x=1",
        "/api/v1/openapi.json?v=2",
        "/?x=1",
    ] {
        assert_error(&s.get(path), 400, path);
    }
    assert_error(
        &s.get(&format!("/api/v1/alerts/{id}?x=1")),
        400,
        "query on an alert",
    );
    assert_error(
        &s.req("POST", &format!("/api/v1/alerts/{id}/ack?x=1"), None),
        400,
        "ack query",
    );
    for body in [
        "",
        "{",
        "[]",
        "{\"mode\": 1}",
        "{\"mode\": \"sleeping\"}",
        "{\"mode\": \"learning\", \"extra\": true}",
        "{}",
    ] {
        let r = s.req("PUT", "/api/v1/mode", Some(body));
        assert_error(&r, 400, &format!("PUT mode {body:?}"));
    }
    let r = http(
        s.addr,
        "PUT",
        "/api/v1/mode",
        &[],
        b"{\"mode\": \"learning\"}",
    )
    .unwrap();
    assert_error(&r, 415, "PUT mode without a JSON content type");
    let big = format!(
        "{{\"mode\": \"learning\", \"pad\": \"{}\"}}",
        "x".repeat(20_000)
    );
    let r = s.req("PUT", "/api/v1/mode", Some(&big));
    assert_error(&r, 413, "PUT mode with a 20 kB body");

    for path in [
        "/api/v1/alerts/a0000000000000000",
        "/api/v1/alerts/nope",
        "/api/v1/alerts/%F0%9F%92%A5",
        "/api/v1/devices/nope",
        "/api/v1/nope",
        "/nope",
        "/api/v2/alerts",
    ] {
        assert_error(&s.get(path), 404, path);
    }
    assert_error(
        &s.req("POST", "/api/v1/alerts/a0000000000000000/ack", None),
        404,
        "ack unknown",
    );
    assert_error(
        &s.req("DELETE", "/api/v1/alerts", None),
        405,
        "DELETE alerts",
    );
    assert_error(&s.req("POST", "/api/v1/devices", None), 405, "POST devices");
    assert_error(
        &s.req("GET", &format!("/api/v1/alerts/{id}/ack"), None),
        405,
        "GET ack",
    );

    // serve has no pipeline: learning and mode changes are refused, after the checks.
    let m = s.json("/api/v1/mode");
    assert_eq!(
        m,
        json!({"mode": "protecting", "capturing": false, "can_change": false})
    );
    assert_error(
        &s.req("PUT", "/api/v1/mode", Some("{\"mode\": \"learning\"}")),
        409,
        "PUT mode",
    );
    assert_error(
        &s.req("POST", &format!("/api/v1/alerts/{id}/learn"), None),
        409,
        "learn",
    );
    assert_error(
        &s.req("POST", "/api/v1/alerts/a0000000000000000/learn", None),
        409,
        "learn unknown",
    );
    let a = s.json(&format!("/api/v1/alerts/{id}"));
    assert_eq!(
        a["acknowledged"], false,
        "a refused learn acknowledges nothing"
    );
    assert!(s.stop().success());
}

#[test]
fn acknowledgement_persists_across_restarts() {
    let state = state_copy("ack");
    let s = Serve::start(&state, "127.0.0.1", None);
    let alerts = all_alerts(&s);
    let target = &alerts[alerts.len() / 2];
    let id = target["id"].as_str().unwrap();
    let r = s.req("POST", &format!("/api/v1/alerts/{id}/ack"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let acked = r.json();
    assert_eq!(acked["acknowledged"], true);
    let mut expect = target.clone();
    expect["acknowledged"] = json!(true);
    assert_eq!(acked, expect, "ack changes nothing else");
    assert_eq!(
        s.json(&format!("/api/v1/alerts/{id}"))["acknowledged"],
        true
    );
    let again = s.req("POST", &format!("/api/v1/alerts/{id}/ack"), None);
    assert_eq!(again.status, 200, "acknowledging twice is fine");
    assert_eq!(again.json(), expect);
    let st = s.stop();
    assert!(st.success(), "serve exited with {st} after SIGTERM");

    let s = Serve::start(&state, "127.0.0.1", None);
    let after = all_alerts(&s);
    assert_eq!(after.len(), alerts.len());
    for (a, b) in after.iter().zip(&alerts) {
        if a["id"] == id {
            assert_eq!(a, &expect);
        } else {
            assert_eq!(a, b, "only the acknowledged alert changed");
        }
    }
    assert!(s.stop().success());
}

#[test]
fn token_rules() {
    // Reachable from elsewhere without a token: refused at start.
    let port = live::free_tcp_port();
    let t0 = Instant::now();
    let out = std::process::Command::new(live::BIN)
        .arg("serve")
        .arg("--state")
        .arg(state_copy("notoken"))
        .args(["--listen", &format!("0.0.0.0:{port}")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "serve on 0.0.0.0 without a token must fail"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without a token"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(20));

    // With a token, on every address; called here on 127.0.0.1.
    let token = "s3cret-Tok3n";
    let s = Serve::start(&state_copy("token"), "0.0.0.0", Some(token));
    let none = |path: &str| http(s.addr, "GET", path, &[], b"").unwrap();
    let with = |path: &str, auth: &str| {
        http(s.addr, "GET", path, &[("Authorization", auth)], b"").unwrap()
    };
    assert_eq!(none("/healthz").status, 200, "healthz needs no token");
    for path in [
        "/",
        "/metrics",
        "/api/v1/alerts",
        "/api/v1/devices",
        "/api/v1/graph?format=dot",
        "/api/v1/stats",
        "/api/v1/mode",
        "/api/v1/openapi.json",
        "/api/v1/nope",
    ] {
        let r = none(path);
        assert_error(&r, 401, path);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"edgetap\"")
        );
        for wrong in [
            "Bearer wrong",
            "Bearer s3cret-Tok3",
            "Bearer s3cret-Tok3n-",
            "Basic czNjcmV0LVRvazNu",
            "s3cret-Tok3n",
            "Bearer",
        ] {
            assert_error(&with(path, wrong), 401, &format!("{path} with {wrong:?}"));
        }
        let ok = with(path, &format!("Bearer {token}"));
        let expect = if path == "/api/v1/nope" { 404 } else { 200 };
        assert_eq!(ok.status, expect, "{path}: {}", ok.text());
        let ok = with(path, &format!("bearer {token}"));
        assert_eq!(ok.status, expect, "{path}: the scheme is case-insensitive");
    }
    let r = s.req("POST", "/api/v1/alerts/a0000000000000000/ack", None);
    assert_error(&r, 404, "ack with the token");
    assert_error(
        &http(
            s.addr,
            "POST",
            "/api/v1/alerts/a0000000000000000/ack",
            &[],
            b"",
        )
        .unwrap(),
        401,
        "ack without",
    );
    // The page takes it in the address once.
    assert_eq!(none(&format!("/?token={token}")).status, 200);
    assert_error(&none("/?token=nope"), 401, "page with a wrong token");
    assert_error(
        &none(&format!("/api/v1/stats?token={token}")),
        401,
        "API token in the query",
    );
    assert!(s.stop().success());
}

#[test]
fn commands_reach_the_pipeline_in_process() {
    use edgetap::api::{serve_on, ApiConfig, ApiState};
    use edgetap::snapshot::{Command, Shared, Snapshot};
    use edgetap::store::{Store, StoreOptions};
    use std::sync::Arc;

    let dir = state_copy("inproc");
    let store = Arc::new(Store::open(&dir, StoreOptions::default()).unwrap());
    let snap = edgetap::api::snapshot_from_store(&store).unwrap();
    let mut snap = Snapshot {
        mode: "learning".into(),
        capturing: true,
        ..snap
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Command>(1);
    let state = ApiState {
        store: Arc::clone(&store),
        snapshot: Shared::new(snap.clone()),
        commands: Some(tx),
        metrics_extra: Some(Arc::new(|| {
            "# HELP edgetap_test_extra A test.\n# TYPE edgetap_test_extra gauge\nedgetap_test_extra 7\n".to_string()
        })),
    };
    let shared = state.snapshot.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(serve_on(
        listener,
        ApiConfig {
            max_page: 5,
            ..ApiConfig::default()
        },
        state,
        async move {
            let _ = stop_rx.await;
        },
    ));
    let get = |p: &str| http(addr, "GET", p, &[], b"").unwrap();
    let post = |p: &str| http(addr, "POST", p, &[], b"").unwrap();
    let put = |body: &str| {
        http(
            addr,
            "PUT",
            "/api/v1/mode",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .unwrap()
    };

    assert_eq!(get("/healthz").json()["mode"], "learning");
    assert_eq!(get("/api/v1/mode").json()["can_change"], true);
    // max_page is the limit's ceiling, in the answers and in the document.
    assert_eq!(get("/api/v1/alerts?limit=5").status, 200);
    assert_error(&get("/api/v1/alerts?limit=6"), 400, "limit over max_page");
    assert_eq!(
        get("/api/v1/alerts").json()["alerts"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let doc = get("/api/v1/openapi.json").json();
    for p in ["limit", "pageLimit"] {
        assert_eq!(
            doc["components"]["parameters"][p]["schema"]["maximum"], 5,
            "{p}"
        );
    }
    // And of the inventory's pages.
    let devs = get("/api/v1/devices").json();
    assert_eq!(devs["devices"].as_array().unwrap().len(), 5);
    assert!(devs["next"].is_string());
    assert_error(
        &get("/api/v1/devices?limit=6"),
        400,
        "devices limit over max_page",
    );
    assert_error(
        &get("/api/v1/graph?limit=6"),
        400,
        "graph limit over max_page",
    );
    assert!(
        get("/api/v1/graph").json()["edges"]
            .as_array()
            .unwrap()
            .len()
            <= 5
    );
    assert!(get("/metrics").text().contains("\nedgetap_test_extra 7\n"));
    assert!(get("/metrics").text().contains("\nedgetap_learning 1\n"));

    // "Learn this": the command goes to the pipeline and the alert is acknowledged.
    let ids = alert_ids(&get("/api/v1/alerts?limit=3").json());
    let r = post(&format!("/api/v1/alerts/{}/learn", ids[0]));
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json()["acknowledged"], true);
    assert_eq!(rx.try_recv(), Ok(Command::Accept(ids[0].clone())));
    assert_eq!(
        get(&format!("/api/v1/alerts/{}", ids[0])).json()["acknowledged"],
        true
    );
    assert_error(
        &post("/api/v1/alerts/a0000000000000000/learn"),
        404,
        "learn unknown",
    );
    assert!(rx.try_recv().is_err(), "nothing sent for an unknown alert");
    // A full channel is a 503, not a wait; the alert stays as it was.
    assert_eq!(
        post(&format!("/api/v1/alerts/{}/learn", ids[1])).status,
        202
    );
    assert_error(
        &post(&format!("/api/v1/alerts/{}/learn", ids[2])),
        503,
        "full channel",
    );
    assert_eq!(
        get(&format!("/api/v1/alerts/{}", ids[2])).json()["acknowledged"],
        false
    );
    assert_error(
        &put("{\"mode\": \"protecting\"}"),
        503,
        "full channel, mode",
    );
    assert_eq!(rx.try_recv(), Ok(Command::Accept(ids[1].clone())));

    // Mode changes.
    let r = put("{\"mode\": \"protecting\"}");
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"mode": "protecting", "previous": "learning"})
    );
    assert_eq!(rx.try_recv(), Ok(Command::Protect));
    snap.mode = "protecting".into();
    shared.set(snap.clone());
    assert_eq!(get("/api/v1/mode").json()["mode"], "protecting");
    assert_eq!(put("{\"mode\": \"learning\"}").status, 202);
    assert_eq!(rx.try_recv(), Ok(Command::Learn));
    assert_error(&put("{\"mode\": \"off\"}"), 400, "bad mode");
    assert!(rx.try_recv().is_err());

    // `run` is healthy only while it captures.
    snap.capturing = false;
    shared.set(snap);
    let h = get("/healthz");
    assert_eq!(h.status, 503);
    assert_eq!(h.json()["status"], "not_capturing");

    // The pipeline gone: 503.
    drop(rx);
    assert_error(&put("{\"mode\": \"learning\"}"), 503, "pipeline stopped");

    let _ = stop_tx.send(());
    rt.block_on(server).unwrap().unwrap();
    // Refused configurations.
    let bad = rt.block_on(edgetap::api::serve(
        ApiConfig {
            listen: "0.0.0.0:0".parse().unwrap(),
            ..ApiConfig::default()
        },
        ApiState {
            store,
            snapshot: Shared::default(),
            commands: None,
            metrics_extra: None,
        },
        async {},
    ));
    assert!(bad.unwrap_err().to_string().contains("without a token"));
}

#[test]
fn schema_fuzz_with_schemathesis() {
    let token = "fuzz-token";
    let s = Serve::start(&state_copy("fuzz"), "127.0.0.1", Some(token));
    let script = live::repo().join("tests/api_fuzz.py");
    let t0 = Instant::now();
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(s.url(""))
        .arg(token)
        .output()
        .unwrap_or_else(|e| panic!("running python3 {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "{stdout}\n{stderr}\nschemathesis took {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "the schema-driven fuzz failed ({}):\n{stdout}\n{stderr}\nserve's log:\n{}",
        out.status,
        s.log_text()
    );
    assert!(
        s.stop().success(),
        "serve did not stop cleanly after the fuzz"
    );
}

#[test]
fn an_empty_state_directory_is_served() {
    let dir = fixture().dir.join("empty-state");
    std::fs::create_dir_all(&dir).unwrap();
    let s = Serve::start(&dir, "127.0.0.1", None);
    assert_eq!(
        s.json("/api/v1/devices"),
        json!({"devices": [], "next": null})
    );
    assert_eq!(
        s.json("/api/v1/alerts"),
        json!({"alerts": [], "next": null})
    );
    assert_eq!(
        s.json("/api/v1/graph"),
        json!({"nodes": [], "edges": [], "next": null})
    );
    let st = s.json("/api/v1/stats");
    assert_eq!(st["packets"], 0);
    assert_eq!(st["devices"], 0);
    let dot = s.get("/api/v1/graph?format=dot").text();
    assert!(
        dot.starts_with("digraph edgetap {") && !dot.contains("->"),
        "{dot}"
    );
    assert!(s.get("/metrics").text().contains("\nedgetap_devices 0\n"));
    assert_eq!(s.get("/").status, 200);
    assert!(s.stop().success());
}

#[test]
fn a_large_inventory_is_paged_and_bounded() {
    // 6,000 devices (100 without edges) and 27,000 edges: the size of the benchmark capture.
    let snap = synthetic_snapshot(6000, 27_000, 100);
    let (all_devices, g) = (snap.devices.clone(), snap.graph.clone());
    let (nodes, edges) = (
        g["nodes"].as_array().unwrap().clone(),
        g["edges"].as_array().unwrap().clone(),
    );
    let srv = InProc::start(snap.clone(), 500, None);

    // Default pages: 500 items, and small.
    let r = srv.get("/api/v1/devices");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["devices"].as_array().unwrap().len(), 500);
    assert!(v["next"].is_string());
    assert!(
        r.body.len() < 400_000,
        "a devices page of {} bytes",
        r.body.len()
    );
    let r = srv.get("/api/v1/graph");
    let v = r.json();
    assert_eq!(v["edges"].as_array().unwrap().len(), 500);
    assert!(v["nodes"].as_array().unwrap().len() <= 1000);
    assert!(v["next"].is_string());
    assert!(
        r.body.len() < 400_000,
        "a graph page of {} bytes",
        r.body.len()
    );

    // Walks give everything once.
    let get = |p: &str| srv.json(p);
    check_walks(&get, &all_devices, &nodes, &edges, &[500, 333]);
    let pages = walk(get, "/api/v1/graph");
    let isolated: Vec<&Value> = pages
        .iter()
        .flat_map(|p| p["nodes"].as_array().unwrap())
        .filter(|n| n["id"] == nodes[5950]["id"] || n["id"] == nodes[5999]["id"])
        .collect();
    assert_eq!(
        isolated.len(),
        2,
        "devices without edges come once, after the edges"
    );
    assert!(pages.last().unwrap()["edges"]
        .as_array()
        .unwrap()
        .is_empty());

    // Lookups by id and by name.
    let d = &all_devices[4321];
    assert_eq!(
        &srv.json(&format!("/api/v1/devices/{}", d["id"].as_str().unwrap())),
        d
    );
    assert_eq!(
        &srv.json(&format!("/api/v1/devices/{}", d["name"].as_str().unwrap())),
        d
    );
    assert_error(&srv.get("/api/v1/devices/dev-99999"), 404, "unknown name");

    // DOT: whole but bounded, and says so.
    let dot = srv.get("/api/v1/graph?format=dot");
    assert_eq!(dot.status, 200);
    let dot = dot.text();
    assert_eq!(dot.matches(" -> ").count(), 2000, "DOT edges");
    assert!(
        dot.contains("\n  // truncated: the first 2000 of 27000 edges"),
        "{}",
        &dot[..400]
    );
    assert!(
        dot.contains("of 100 devices without edges"),
        "{}",
        &dot[..400]
    );
    assert!(dot.trim_end().ends_with('}'));

    // A walk across a new snapshot: nothing repeated or skipped of what was there.
    let first = srv.json("/api/v1/devices?limit=500");
    let mut newer = snap.clone();
    newer
        .devices
        .insert(0, json!({"id": "d0", "name": "newcomer"}));
    newer.devices.push(json!({"id": "dzzz", "name": "late"}));
    srv.shared.set(newer);
    // The API may answer from the previous snapshot for a moment (while indexing this one).
    let t0 = Instant::now();
    while srv.get("/api/v1/devices/dzzz").status != 200 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the new snapshot never showed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut rest = Vec::new();
    let mut cursor = first["next"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let v = srv.json(&format!("/api/v1/devices?limit=500&cursor={c}"));
        cursor = v["next"].as_str().map(str::to_string);
        rest.push(v);
    }
    let mut ids: Vec<String> = first["devices"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest.iter().flat_map(|p| p["devices"].as_array().unwrap()))
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids.pop().as_deref(),
        Some("dzzz"),
        "a device behind the cursor is seen"
    );
    let want: Vec<String> = all_devices
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, want);

    // Bad cursors are refused, a cursor past the end is an empty last page.
    assert_error(
        &srv.get("/api/v1/graph?cursor=64"),
        400,
        "devices-like graph cursor",
    );
    // (Cursors are opaque; this one is made the way the server makes them.)
    let past: String = br#"["d","dzzzz",0]"#.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        srv.json(&format!("/api/v1/devices?cursor={past}")),
        json!({"devices": [], "next": null})
    );
    let devices_cursor = first["next"].as_str().unwrap();
    assert_error(
        &srv.get(&format!("/api/v1/graph?cursor={devices_cursor}")),
        400,
        "a devices cursor for the graph",
    );
    srv.stop();
}
