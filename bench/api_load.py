#!/usr/bin/env python3
"""Open-loop HTTP load at a fixed rate against edgetap's API; prints latency percentiles.

usage: api_load.py HOST:PORT RATE SECONDS [PATH...]

Requests are scheduled at exact intervals (not sent when the previous one returns), from a pool
of keep-alive connections, so a slow server shows up as latency, not as a lower rate.
"""
import http.client, json, sys, threading, time

def main():
    host, port = sys.argv[1].rsplit(":", 1)
    rate, secs = float(sys.argv[2]), float(sys.argv[3])
    paths = sys.argv[4:] or ["/api/v1/alerts?limit=50", "/api/v1/devices", "/api/v1/stats",
                             "/api/v1/graph", "/metrics", "/healthz"]
    n = int(rate * secs)
    lat, errors, lock = [], [0], threading.Lock()
    local = threading.local()

    def one(i):
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = http.client.HTTPConnection(host, int(port), timeout=5)
        t0 = time.perf_counter()
        try:
            c.request("GET", paths[i % len(paths)])
            r = c.getresponse()
            r.read()
            ok = r.status == 200
        except Exception:
            local.c = None
            ok = False
        dt = time.perf_counter() - t0
        with lock:
            lat.append(dt)
            if not ok:
                errors[0] += 1

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
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000 if lat else float("nan")
    print(json.dumps({"requests": len(lat), "errors": errors[0], "achieved_rps": round(len(lat) / wall, 1),
                      "p50_ms": round(pct(50), 2), "p90_ms": round(pct(90), 2), "p99_ms": round(pct(99), 2),
                      "max_ms": round(lat[-1] * 1000, 2) if lat else None}))

main()
