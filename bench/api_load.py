#!/usr/bin/env python3
"""Open-loop HTTP load at a fixed rate against edgetap's API; prints latency percentiles.

usage: api_load.py HOST:PORT RATE SECONDS [PATH...]

Requests are scheduled at exact intervals (not sent when the previous one returns), from a pool
of keep-alive connections, so a slow server shows up as latency, not as a lower rate. Prints one
JSON line: the totals, then under "paths" the same per path (with the mean body size).
"""
import http.client, json, sys, threading, time

def main():
    host, port = sys.argv[1].rsplit(":", 1)
    rate, secs = float(sys.argv[2]), float(sys.argv[3])
    paths = sys.argv[4:] or ["/api/v1/alerts?limit=50", "/api/v1/devices", "/api/v1/stats",
                             "/api/v1/graph", "/metrics", "/healthz"]
    n = int(rate * secs)
    lat, errors, lock = [], [0], threading.Lock()
    per = {p: {"lat": [], "errors": 0, "bytes": 0} for p in paths}
    local = threading.local()

    def one(i):
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = http.client.HTTPConnection(host, int(port), timeout=5)
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        size = 0
        try:
            c.request("GET", path)
            r = c.getresponse()
            size = len(r.read())
            ok = r.status == 200
        except Exception:
            local.c = None
            ok = False
        dt = time.perf_counter() - t0
        with lock:
            lat.append(dt)
            per[path]["lat"].append(dt)
            per[path]["bytes"] += size
            if not ok:
                errors[0] += 1
                per[path]["errors"] += 1

    start = time.perf_counter()
    threads = []
    sem = threading.Semaphore(32)
    def worker(i):
        with sem:
            one(i)
    for i in range(n):
        due = start + i / rate
        d = due - time.perf_counter()
        if d > 0:
            time.sleep(d)
        t = threading.Thread(target=worker, args=(i,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(10)
    wall = time.perf_counter() - start
    def pct(xs, p):
        return round(xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000, 2) if xs else None
    lat.sort()
    by_path = {}
    for p, d in per.items():
        xs = sorted(d["lat"])
        by_path[p] = {"requests": len(xs), "errors": d["errors"], "p50_ms": pct(xs, 50),
                      "p99_ms": pct(xs, 99), "max_ms": pct(xs, 100),
                      "mean_bytes": d["bytes"] // len(xs) if xs else None}
    print(json.dumps({"requests": len(lat), "errors": errors[0], "achieved_rps": round(len(lat) / wall, 1),
                      "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99),
                      "max_ms": pct(lat, 100), "paths": by_path}))

main()
