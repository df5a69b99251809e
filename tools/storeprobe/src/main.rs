//! storeprobe: measures the state store's backends (redb, sled) the way the appliance uses them:
//! alert-like records, one durable transaction each. Figures in bench/store.md.
//!
//! ```text
//! storeprobe write      --backend redb|sled --dir D [--value-size 600]
//! storeprobe verify     --backend B --dir D --acked N [--value-size 600]
//! storeprobe fill       --backend B --dir D --bytes 43000000 [--value-size 600] [--batch 1]
//!                       [--no-retention]
//! storeprobe crash-loop --backend B --dir D --rounds 50 [--max-delay-ms 400] [--seed S]
//!                       [--value-size 600]
//! ```
//!
//! `write` appends records (key: big-endian u64 time stamp in ns + big-endian u32 sequence
//! number; value: a JSON alert padded to the value size, a function of the key) and prints
//! `ACK <seq>` once each transaction has returned, forever. It continues the sequence of the
//! records already in the store. `verify` reopens the store and checks that every sequence
//! number up to N is there exactly once with the value it was written with. `crash-loop` runs
//! `write` in a child, SIGKILLs it at a random moment, verifies, and again. `fill` writes a given
//! amount of data and reports what it takes on disk, how fast it went, how long a reopen takes
//! and what size retention gives back.
//!
//! Exit status: 0 ok; 1 a record was lost or damaged, or the store failed; 2 bad usage.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use edgetap::store::{Backend, Op, Store, StoreError, StoreOptions, Table};

const USAGE: &str = "usage:
  storeprobe write      --backend redb|sled --dir D [--value-size 600]
  storeprobe verify     --backend B --dir D --acked N [--value-size 600]
  storeprobe fill       --backend B --dir D --bytes N [--value-size 600] [--batch 1]
  storeprobe crash-loop --backend B --dir D --rounds N [--max-delay-ms 400] [--seed S] [--value-size 600]";

struct Args {
    cmd: String,
    backend: Backend,
    dir: PathBuf,
    value_size: usize,
    acked: u64,
    bytes: u64,
    batch: usize,
    rounds: u32,
    max_delay_ms: u64,
    seed: Option<u64>,
    retention: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().ok_or("no command")?;
    let mut args = Args {
        cmd,
        backend: Backend::Redb,
        dir: PathBuf::new(),
        value_size: 600,
        acked: 0,
        bytes: 43_000_000,
        batch: 1,
        rounds: 50,
        max_delay_ms: 400,
        seed: None,
        retention: true,
    };
    while let Some(flag) = it.next() {
        if flag == "--no-retention" {
            args.retention = false;
            continue;
        }
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = || {
            val.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {val}"))
        };
        match flag.as_str() {
            "--backend" => args.backend = val.parse()?,
            "--dir" => args.dir = PathBuf::from(&val),
            "--value-size" => args.value_size = num()? as usize,
            "--acked" => args.acked = num()?,
            "--bytes" => args.bytes = num()?,
            "--batch" => args.batch = (num()? as usize).max(1),
            "--rounds" => args.rounds = num()? as u32,
            "--max-delay-ms" => args.max_delay_ms = num()?.max(1),
            "--seed" => args.seed = Some(num()?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if args.dir.as_os_str().is_empty() {
        return Err("--dir is required".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("storeprobe: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match args.cmd.as_str() {
        "write" => write(&args),
        "verify" => verify(&args),
        "fill" => fill(&args),
        "crash-loop" => crash_loop(&args),
        other => {
            eprintln!("storeprobe: unknown command {other}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("storeprobe: {e}");
            ExitCode::from(1)
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn key(ts: u64, seq: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&ts.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// An alert as the appliance would store it, padded to `size` bytes; a function of the key, so
/// that `verify` can tell a damaged value.
fn value(ts: u64, seq: u32, size: usize) -> Vec<u8> {
    let h = splitmix(ts ^ u64::from(seq).rotate_left(32));
    let mut v = format!(
        r#"{{"ts":{ts},"seq":{seq},"kind":"modbus.unexpected_write","severity":"high","src_ip":"10.0.{}.{}","src_port":{},"dest_ip":"192.168.0.20","dest_port":502,"flow_id":{h},"unit_id":{},"function_code":6,"address":{},"value":{},"detail":"write to a register this client never wrote during learning","pad":""#,
        (h >> 8) & 0xff,
        h & 0xff,
        1024 + (h >> 16) % 60000,
        (h >> 32) % 248,
        (h >> 40) % 10000,
        (h >> 48) % 65536,
    )
    .into_bytes();
    let mut x = h;
    while v.len() + 2 < size {
        x = splitmix(x);
        v.extend(format!("{x:016x}").bytes().take(size - 2 - v.len()));
    }
    v.extend_from_slice(b"\"}");
    v
}

fn open(args: &Args, opts: StoreOptions) -> Result<(Store, Duration), StoreError> {
    let t = Instant::now();
    let s = Store::open_backend(&args.dir, opts, args.backend)?;
    Ok((s, t.elapsed()))
}

/// The newest record's time stamp and sequence number.
fn last_record(store: &Store) -> Result<Option<(u64, u32)>, StoreError> {
    let last = store.scan(Table::Alerts, (Bound::Unbounded, Bound::Unbounded), true, 1)?;
    Ok(last.first().and_then(|(k, _)| parse_key(k)))
}

fn parse_key(k: &[u8]) -> Option<(u64, u32)> {
    let ts = u64::from_be_bytes(k.get(..8)?.try_into().ok()?);
    let seq = u32::from_be_bytes(k.get(8..12)?.try_into().ok()?);
    (k.len() == 12).then_some((ts, seq))
}

fn write(args: &Args) -> Result<bool, String> {
    let (store, _) = open(args, StoreOptions::default()).map_err(|e| e.to_string())?;
    let (mut ts, mut seq) = last_record(&store)
        .map_err(|e| e.to_string())?
        .unwrap_or((0, 0));
    let mut out = std::io::stdout().lock();
    loop {
        seq = seq.checked_add(1).ok_or("sequence numbers exhausted")?;
        ts = now_ns().max(ts + 1);
        let v = value(ts, seq, args.value_size);
        store
            .put(Table::Alerts, &key(ts, seq), &v)
            .map_err(|e| e.to_string())?;
        // One write call per line, so that a kill never leaves half an ACK.
        out.write_all(format!("ACK {seq}\n").as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| format!("stdout: {e}"))?;
    }
}

struct Check {
    reopen: Duration,
    records: u64,
    max_seq: u32,
    missing: u64,
    first_missing: Option<u32>,
    damaged: u64,
    duplicates: u64,
}

/// Reopens the store and checks every record, and that 1..=acked are all there.
fn check(args: &Args, acked: u64) -> Result<Check, StoreError> {
    let (store, reopen) = open(args, StoreOptions::default())?;
    let all = store.scan(
        Table::Alerts,
        (Bound::Unbounded, Bound::Unbounded),
        false,
        usize::MAX,
    )?;
    let mut seen: HashMap<u32, u32> = HashMap::with_capacity(all.len());
    let mut c = Check {
        reopen,
        records: all.len() as u64,
        max_seq: 0,
        missing: 0,
        first_missing: None,
        damaged: 0,
        duplicates: 0,
    };
    for (k, v) in &all {
        let Some((ts, seq)) = parse_key(k) else {
            c.damaged += 1;
            continue;
        };
        if *v != value(ts, seq, args.value_size) {
            c.damaged += 1;
        }
        *seen.entry(seq).or_default() += 1;
        c.max_seq = c.max_seq.max(seq);
    }
    c.duplicates = seen.values().map(|n| u64::from(n - 1)).sum();
    for seq in 1..=acked {
        let present = u32::try_from(seq).is_ok_and(|s| seen.contains_key(&s));
        if !present {
            c.missing += 1;
            c.first_missing.get_or_insert(seq as u32);
        }
    }
    Ok(c)
}

fn verify(args: &Args) -> Result<bool, String> {
    let c = check(args, args.acked).map_err(|e| e.to_string())?;
    println!(
        "backend={} reopen_ms={:.2} records={} max_seq={} acked={} missing={} damaged={} duplicates={}",
        args.backend.name(),
        ms(c.reopen),
        c.records,
        c.max_seq,
        args.acked,
        c.missing,
        c.damaged,
        c.duplicates
    );
    Ok(c.missing == 0 && c.damaged == 0 && c.duplicates == 0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = splitmix(self.0);
        self.0
    }
}

fn crash_loop(args: &Args) -> Result<bool, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let seed = args.seed.unwrap_or_else(now_ns);
    let mut rng = Rng(seed);
    println!(
        "crash-loop backend={} dir={} rounds={} max_delay_ms={} seed={seed}",
        args.backend.name(),
        args.dir.display(),
        args.rounds,
        args.max_delay_ms
    );
    // Records already in the store (a run on a filled store) are not this run's writes, but
    // they must survive too: they count as acknowledged.
    let mut acked_total = if args.dir.exists() {
        u64::from(check(args, 0).map_err(|e| e.to_string())?.max_seq)
    } else {
        0
    };
    let mut lost_rounds = 0u32;
    let mut total_lost = 0u64;
    let mut total_damaged = 0u64;
    let mut reopens = Vec::new();
    let mut write_time = Duration::ZERO;
    let mut acks_written = 0u64;
    let mut failure = None;
    for round in 1..=args.rounds {
        let delay = Duration::from_millis(rng.next() % args.max_delay_ms);
        let mut child = Command::new(&exe)
            .args(["write", "--backend", args.backend.name(), "--dir"])
            .arg(&args.dir)
            .args(["--value-size", &args.value_size.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawn writer: {e}"))?;
        let acked = Arc::new(AtomicU64::new(0));
        let reader = child.stdout.take().map(|out| {
            let acked = Arc::clone(&acked);
            std::thread::spawn(move || read_acks(out, &acked))
        });
        let started = Instant::now();
        std::thread::sleep(delay);
        let exited_early = child.try_wait().ok().flatten();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let ran = started.elapsed();
        if let Some(r) = reader {
            let _ = r.join();
        }
        if let Some(status) = exited_early {
            failure = Some(format!(
                "round {round}: the writer exited by itself ({status})"
            ));
            break;
        }
        let acked_now = acked.load(Ordering::Relaxed).max(acked_total);
        acks_written += acked_now.saturating_sub(acked_total);
        write_time += ran;
        acked_total = acked_now;
        match check(args, acked_total) {
            Ok(c) => {
                println!(
                    "round {round:3} killed_after_ms={:4} acked={acked_total} records={} reopen_ms={:.2} missing={} damaged={} duplicates={}",
                    delay.as_millis(),
                    c.records,
                    ms(c.reopen),
                    c.missing,
                    c.damaged,
                    c.duplicates
                );
                reopens.push(c.reopen);
                if c.missing > 0 || c.damaged > 0 || c.duplicates > 0 {
                    lost_rounds += 1;
                    total_lost += c.missing;
                    total_damaged += c.damaged + c.duplicates;
                    println!(
                        "round {round:3} LOST: first missing seq {:?}",
                        c.first_missing
                    );
                    // Later rounds would reuse the lost sequence numbers; stop counting here.
                    failure = Some(format!("round {round}: acknowledged records lost"));
                    break;
                }
            }
            Err(e) => {
                println!(
                    "round {round:3} killed_after_ms={:4} REOPEN FAILED: {e}",
                    delay.as_millis()
                );
                failure = Some(format!("round {round}: the store does not reopen: {e}"));
                break;
            }
        }
    }
    reopens.sort();
    let pick = |q: usize| reopens.get(q).map_or(0.0, |d| ms(*d));
    let n = reopens.len();
    println!(
        "summary backend={} rounds_verified={n} acked={acked_total} lost={total_lost} damaged_or_dup={total_damaged} rounds_with_loss={lost_rounds} reopen_ms_min={:.2} median={:.2} max={:.2} acks_per_s_incl_startup={:.0} disk_bytes={}",
        args.backend.name(),
        pick(0),
        pick(n / 2),
        pick(n.saturating_sub(1)),
        acks_written as f64 / write_time.as_secs_f64().max(1e-9),
        dir_bytes(&args.dir).0,
    );
    if let Some(f) = &failure {
        println!("FAILED: {f}");
    }
    Ok(failure.is_none())
}

/// Reads `ACK <seq>` lines until EOF, keeping the highest; a line cut by the kill is ignored.
fn read_acks(out: impl std::io::Read, acked: &AtomicU64) {
    let mut r = BufReader::new(out);
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if !line.ends_with('\n') {
            return;
        }
        if let Some(seq) = line
            .strip_prefix("ACK ")
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            acked.fetch_max(seq, Ordering::Relaxed);
        }
    }
}

/// (allocated bytes, apparent bytes) of the files under `path`.
fn dir_bytes(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::symlink_metadata(path) else {
        return (0, 0);
    };
    if !m.is_dir() {
        return (m.blocks() * 512, m.len());
    }
    let mut sum = (0, 0);
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            let (a, b) = dir_bytes(&e.path());
            sum.0 += a;
            sum.1 += b;
        }
    }
    sum
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn fill(args: &Args) -> Result<bool, String> {
    let e = |e: StoreError| e.to_string();
    let (store, first_open) = open(args, StoreOptions::default()).map_err(e)?;
    let (mut ts, mut seq) = last_record(&store).map_err(e)?.unwrap_or((0, 0));
    let mut logical = 0u64;
    let mut records = 0u64;
    let started = Instant::now();
    let mut keys = Vec::with_capacity(args.batch);
    let mut vals = Vec::with_capacity(args.batch);
    while logical < args.bytes {
        keys.clear();
        vals.clear();
        for _ in 0..args.batch {
            seq += 1;
            ts = now_ns().max(ts + 1);
            keys.push(key(ts, seq));
            vals.push(value(ts, seq, args.value_size));
        }
        let ops: Vec<Op<'_>> = keys
            .iter()
            .zip(&vals)
            .map(|(k, v)| Op::Put {
                table: Table::Alerts,
                key: k,
                val: v,
            })
            .collect();
        store.apply(&ops).map_err(e)?;
        for (k, v) in keys.iter().zip(&vals) {
            logical += (k.len() + v.len()) as u64;
        }
        records += keys.len() as u64;
    }
    let took = started.elapsed();
    let store_disk = store.disk_bytes();
    drop(store);
    let (alloc, apparent) = dir_bytes(&args.dir);
    let mut reopen = Vec::new();
    for _ in 0..3 {
        let (s, t) = open(args, StoreOptions::default()).map_err(e)?;
        reopen.push(ms(t));
        drop(s);
    }
    println!(
        "backend={} value_size={} batch={}",
        args.backend.name(),
        args.value_size,
        args.batch
    );
    println!("records={records} logical_bytes={logical}");
    println!(
        "disk_bytes={alloc} (store.disk_bytes()={store_disk}) apparent_bytes={apparent} amplification={:.2}x",
        alloc as f64 / logical as f64
    );
    println!(
        "write_s={:.2} records_per_s={:.0} logical_MB_per_s={:.2}",
        took.as_secs_f64(),
        records as f64 / took.as_secs_f64(),
        logical as f64 / 1e6 / took.as_secs_f64()
    );
    println!(
        "first_open_ms={:.2} reopen_ms={:.2},{:.2},{:.2}",
        ms(first_open),
        reopen[0],
        reopen[1],
        reopen[2]
    );
    if args.retention {
        retention_half(args, alloc)?;
    }
    println!("peak_rss_kib={}", peak_rss_kib());
    Ok(true)
}

/// Size retention: brings the directory down to half of what it takes, and reports.
fn retention_half(args: &Args, disk: u64) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    let max_bytes = disk / 2;
    let (store, _) = open(
        args,
        StoreOptions {
            max_age: None,
            max_bytes: Some(max_bytes),
        },
    )
    .map_err(e)?;
    let t = Instant::now();
    let rep = store.enforce_retention(now_ns()).map_err(e)?;
    let retention_ms = ms(t.elapsed());
    let left = store.len(Table::Alerts).map_err(e)?;
    println!(
        "retention max_bytes={max_bytes}: deleted={} left={left} disk_before={} disk_after={} compactions={} over_budget={} took_ms={retention_ms:.0}",
        rep.deleted_by_size, rep.disk_bytes_before, rep.disk_bytes_after, rep.compactions, rep.over_budget
    );
    Ok(())
}
