//! Live capture from one or more interfaces with libpcap (the `pcap` crate).
//!
//! Each interface is opened with the caller's snap length, promiscuous mode, immediate mode,
//! kernel buffer size and BPF filter, with nanosecond time stamps. Packets are handed out as
//! slices of libpcap's own buffer. Several interfaces are polled round-robin in non-blocking
//! mode on the calling thread, so the pipeline stays single-threaded and copy-free; an idle
//! round sleeps a millisecond. Kernel and interface drop counters are read with `stats()`.

use super::{LinkType, Packet};
use pcap::{Active, Capture, Precision};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How to open the interfaces.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub interfaces: Vec<String>,
    pub filter: Option<String>,
    pub snaplen: i32,
    pub promisc: bool,
    pub immediate: bool,
    /// Kernel buffer, bytes.
    pub buffer_size: i32,
    /// Only packets arriving on the interfaces (not those they send): on the ports of a
    /// bridge, each frame is then seen once.
    pub inbound_only: bool,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interfaces: Vec::new(),
            filter: None,
            snaplen: 262_144,
            promisc: true,
            immediate: true,
            buffer_size: 16 << 20,
            inbound_only: false,
        }
    }
}

/// Drop counters of one interface, as libpcap reports them.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct IfaceStats {
    pub interface: String,
    pub received: u64,
    /// Dropped by the kernel (buffer full: we were too slow).
    pub kernel_dropped: u64,
    /// Dropped by the interface or its driver.
    pub interface_dropped: u64,
}

pub struct LiveCapture {
    caps: Vec<(String, Capture<Active>)>,
    frames: Vec<u64>,
    /// Drop counters, refreshed about once a second while [`LiveCapture::run`] runs, for
    /// readers on other threads.
    pub shared_stats: std::sync::Arc<std::sync::Mutex<Vec<IfaceStats>>>,
}

impl LiveCapture {
    /// Open every interface; fails with a one-line reason (no such device, no permission,
    /// bad filter).
    pub fn open(cfg: &LiveConfig) -> Result<LiveCapture, String> {
        let mut caps = Vec::new();
        for name in &cfg.interfaces {
            let cap = Capture::from_device(name.as_str())
                .and_then(|c| {
                    c.snaplen(cfg.snaplen)
                        .promisc(cfg.promisc)
                        .immediate_mode(cfg.immediate)
                        .buffer_size(cfg.buffer_size)
                        .precision(Precision::Nano)
                        .timeout(100)
                        .open()
                })
                .map_err(|e| format!("interface {name}: {e}"))?;
            let mut cap = cap
                .setnonblock()
                .map_err(|e| format!("interface {name}: {e}"))?;
            if cfg.inbound_only {
                cap.direction(pcap::Direction::In)
                    .map_err(|e| format!("interface {name}: inbound only: {e}"))?;
            }
            if let Some(f) = &cfg.filter {
                cap.filter(f, true)
                    .map_err(|e| format!("filter {f:?} on {name}: {e}"))?;
            }
            caps.push((name.clone(), cap));
        }
        if caps.is_empty() {
            return Err("no interface given (-i IFACE)".into());
        }
        let frames = vec![0; caps.len()];
        Ok(LiveCapture {
            caps,
            frames,
            shared_stats: Default::default(),
        })
    }

    /// Capture until `stop` is set, handing each packet to `f`; `idle(now_ns)` is called when a
    /// round found no packet (to expire flows on wall time).
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        mut f: impl FnMut(&Packet<'_>),
        mut idle: impl FnMut(u64),
    ) -> Result<(), String> {
        let mut last_stats = std::time::Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if last_stats.elapsed() >= Duration::from_secs(1) {
                last_stats = std::time::Instant::now();
                let s = self.stats();
                if let Ok(mut g) = self.shared_stats.lock() {
                    *g = s;
                }
            }
            let mut got = false;
            for (i, (name, cap)) in self.caps.iter_mut().enumerate() {
                let link = LinkType(cap.get_datalink().0 as u32);
                // Drain what is ready on this interface, up to a batch, then move on.
                for _ in 0..256 {
                    match cap.next_packet() {
                        Ok(p) => {
                            got = true;
                            let frame = match self.frames.get_mut(i) {
                                Some(n) => {
                                    *n += 1;
                                    *n
                                }
                                None => 0,
                            };
                            let ts_ns = (p.header.ts.tv_sec.max(0) as u64) * 1_000_000_000
                                + p.header.ts.tv_usec.max(0) as u64;
                            f(&Packet {
                                source: i,
                                frame,
                                ts_ns,
                                link,
                                data: p.data,
                                orig_len: p.header.len,
                            });
                        }
                        Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => break,
                        Err(e) => return Err(format!("interface {name}: {e}")),
                    }
                }
            }
            if !got {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                idle(now);
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(())
    }

    /// Drop counters per interface.
    pub fn stats(&mut self) -> Vec<IfaceStats> {
        self.caps
            .iter_mut()
            .map(|(name, cap)| match cap.stats() {
                Ok(s) => IfaceStats {
                    interface: name.clone(),
                    received: u64::from(s.received),
                    kernel_dropped: u64::from(s.dropped),
                    interface_dropped: u64::from(s.if_dropped),
                },
                Err(_) => IfaceStats {
                    interface: name.clone(),
                    ..IfaceStats::default()
                },
            })
            .collect()
    }
}
