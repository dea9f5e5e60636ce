//! Hosts on separate network stacks for the fault tests: one Linux network namespace per host,
//! each with an `eth0` in the private test range 10.213.S.0/24, joined by a switch this module
//! runs in userspace. The switch carries the faults between hosts (latency with jitter, random
//! loss, partitions) so the scenarios need nothing from the kernel beyond namespaces and TUN/TAP:
//! this machine's kernel has no `sch_netem` (`tc qdisc add … netem` is "unknown qdisc") and no
//! iptables/nft tools. The test process joins the switch too (10.213.S.254), on a port that is
//! never impaired, to watch every side of a partition.
//!
//! RAII: dropping a `Lab` (also while a test panics) kills the processes it started, stops the
//! switch (closing the TAP devices removes them) and deletes the namespaces. Names carry the
//! test process's pid and a counter, and each lab holds a lock on its /24, so parallel test runs
//! never share a namespace, a device or a subnet.
// Each test binary uses its own part.
#![allow(dead_code)]
// Namespaces, TAP devices, poll, flock and signals are syscalls std does not wrap; every
// unsafe block below says why it is sound.
#![allow(unsafe_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Why fault tests cannot run here, or None when they can: root, `ip`, TUN and namespaces.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: network namespaces need CAP_SYS_ADMIN".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("`ip` (iproute2) is not installed".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing (no TUN/TAP)".into());
    }
    let probe = format!("tcprobe{}", std::process::id());
    let ok = ip(&["netns", "add", &probe]).is_ok();
    let _ = ip(&["netns", "del", &probe]);
    (!ok).then(|| "`ip netns add` is not permitted here".into())
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn must(args: &[&str]) {
    ip(args).unwrap_or_else(|e| panic!("{e}"));
}

/// What the switch does to frames from one host to another.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Link {
    /// Dropped entirely: a partition.
    pub cut: bool,
    pub delay_ms: u64,
    /// The delay varies uniformly within ± this.
    pub jitter_ms: u64,
    /// Percent of frames dropped at random.
    pub loss_pct: u64,
}

struct Rules {
    /// Per (from host, to host); absent: a perfect link.
    links: HashMap<(usize, usize), Link>,
    /// Where each MAC address was last seen.
    macs: HashMap<[u8; 6], usize>,
    rng: u64,
}

impl Rules {
    fn random(&mut self) -> u64 {
        // xorshift64: enough for loss and jitter, no dependency.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

/// Frames waiting out their delay, earliest first.
type Queue = BinaryHeap<Reverse<(Instant, u64, usize, Vec<u8>)>>;

struct Switch {
    ports: Vec<File>,
    /// Ports at or past this index are the test's own, never impaired.
    hosts: usize,
    rules: Mutex<Rules>,
    queue: Mutex<Queue>,
    wake: Condvar,
    stop: AtomicBool,
    seq: AtomicU64,
}

impl Switch {
    /// Forwards one frame that arrived on `from`.
    fn forward(&self, from: usize, frame: Vec<u8>) {
        if frame.len() < 14 {
            return;
        }
        let dst: [u8; 6] = frame[0..6].try_into().unwrap();
        let src: [u8; 6] = frame[6..12].try_into().unwrap();
        let mut deliveries = Vec::new();
        {
            let mut rules = self.rules.lock().unwrap();
            rules.macs.insert(src, from);
            let targets: Vec<usize> = match rules.macs.get(&dst) {
                Some(&to) if dst[0] & 1 == 0 => vec![to],
                _ => (0..self.ports.len()).filter(|p| *p != from).collect(),
            };
            for to in targets {
                let link = if from < self.hosts && to < self.hosts {
                    rules.links.get(&(from, to)).copied().unwrap_or_default()
                } else {
                    Link::default()
                };
                if link.cut || (link.loss_pct > 0 && rules.random() % 100 < link.loss_pct) {
                    continue;
                }
                let jitter = if link.jitter_ms > 0 {
                    rules.random() % (2 * link.jitter_ms + 1)
                } else {
                    link.jitter_ms
                };
                let delay = (link.delay_ms + jitter).saturating_sub(link.jitter_ms);
                deliveries.push((to, delay));
            }
        }
        for (to, delay) in deliveries {
            if delay == 0 {
                let _ = (&self.ports[to]).write(&frame);
            } else {
                let at = Instant::now() + Duration::from_millis(delay);
                let seq = self.seq.fetch_add(1, Ordering::Relaxed);
                self.queue
                    .lock()
                    .unwrap()
                    .push(Reverse((at, seq, to, frame.clone())));
                self.wake.notify_one();
            }
        }
    }

    fn read_port(&self, port: usize) {
        let mut buf = vec![0u8; 65_536];
        let fd = self.ports[port].as_raw_fd();
        while !self.stop.load(Ordering::Relaxed) {
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, and the fd outlives this loop (the switch owns it).
            let ready = unsafe { libc::poll(&mut pfd, 1, 100) };
            if ready <= 0 {
                continue;
            }
            match (&self.ports[port]).read(&mut buf) {
                Ok(n) if n > 0 => self.forward(port, buf[..n].to_vec()),
                _ => break,
            }
        }
    }

    fn deliver_delayed(&self) {
        let mut queue = self.queue.lock().unwrap();
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            match queue.peek() {
                Some(Reverse((at, ..))) if *at <= now => {
                    let Reverse((_, _, to, frame)) = queue.pop().unwrap();
                    let _ = (&self.ports[to]).write(&frame);
                }
                Some(Reverse((at, ..))) => {
                    let wait = *at - now;
                    queue = self.wake.wait_timeout(queue, wait).unwrap().0;
                }
                None => {
                    queue = self
                        .wake
                        .wait_timeout(queue, Duration::from_millis(100))
                        .unwrap()
                        .0;
                }
            }
        }
    }
}

/// A TAP device named `name`, created inside namespace `netns` (the caller's when None). A
/// thread of its own enters the namespace, so the test's threads stay where they are.
fn open_tap(netns: Option<String>, name: String) -> File {
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    const IFF_TAP: i16 = 0x0002;
    const IFF_NO_PI: i16 = 0x1000;
    std::thread::spawn(move || {
        if let Some(ns) = netns {
            let f = File::open(format!("/run/netns/{ns}")).expect("the namespace exists");
            // SAFETY: a valid namespace fd; setns changes only this short-lived thread.
            let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(
                rc,
                0,
                "setns into {ns}: {}",
                std::io::Error::last_os_error()
            );
        }
        let tun = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .expect("opening /dev/net/tun");
        // struct ifreq: the name (16 bytes), then the flags.
        let mut ifr = [0u8; 40];
        ifr[..name.len()].copy_from_slice(name.as_bytes());
        ifr[16..18].copy_from_slice(&(IFF_TAP | IFF_NO_PI).to_ne_bytes());
        // SAFETY: TUNSETIFF reads and writes one ifreq, which `ifr` is large enough to hold.
        let rc = unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETIFF as _, ifr.as_mut_ptr()) };
        assert_eq!(
            rc,
            0,
            "TUNSETIFF {name}: {}",
            std::io::Error::last_os_error()
        );
        tun
    })
    .join()
    .expect("creating a TAP device")
}

/// A /24 of 10.213.0.0/16 no other lab holds: an exclusive lock on a file named for it.
fn claim_subnet(first: u8) -> (u8, File) {
    for k in 0..=250u16 {
        let s = ((first as u16 + k) % 250 + 1) as u8;
        let path = format!("/tmp/tensorchain-netns-10.213.{s}.lock");
        let Ok(f) = File::create(&path) else { continue };
        // SAFETY: a valid fd; a non-blocking exclusive flock.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return (s, f);
        }
    }
    panic!("every 10.213.x.0/24 is held by another lab");
}

static LABS: AtomicU64 = AtomicU64::new(0);

/// N hosts and the switch between them; see the module comment.
pub struct Lab {
    pub name: String,
    subnet: u8,
    namespaces: Vec<String>,
    switch: Arc<Switch>,
    threads: Vec<JoinHandle<()>>,
    procs: HashMap<usize, Child>,
    _subnet_lock: File,
}

impl Lab {
    pub fn new(hosts: usize) -> Lab {
        let pid = std::process::id();
        let k = LABS.fetch_add(1, Ordering::Relaxed);
        let name = format!("tc{pid}x{k}");
        let (subnet, lock) = claim_subnet((pid as u64 + k * 37) as u8);
        let namespaces: Vec<String> = (0..hosts).map(|i| format!("{name}h{i}")).collect();
        // From here on a panic still cleans up what exists (Drop).
        let mut lab = Lab {
            name: name.clone(),
            subnet,
            namespaces: vec![],
            switch: Arc::new(Switch {
                ports: vec![],
                hosts,
                rules: Mutex::new(Rules {
                    links: HashMap::new(),
                    macs: HashMap::new(),
                    rng: 0x9e37_79b9_7f4a_7c15 ^ (pid as u64) << 16 ^ k,
                }),
                queue: Mutex::new(BinaryHeap::new()),
                wake: Condvar::new(),
                stop: AtomicBool::new(false),
                seq: AtomicU64::new(0),
            }),
            threads: vec![],
            procs: HashMap::new(),
            _subnet_lock: lock,
        };
        let mut ports = Vec::new();
        for (i, ns) in namespaces.iter().enumerate() {
            must(&["netns", "add", ns]);
            lab.namespaces.push(ns.clone());
            ports.push(open_tap(Some(ns.clone()), "eth0".into()));
            let addr = format!("{}/24", lab.addr(i));
            must(&["-n", ns, "link", "set", "lo", "up"]);
            must(&["-n", ns, "addr", "add", &addr, "dev", "eth0"]);
            must(&["-n", ns, "link", "set", "eth0", "up"]);
        }
        // The test's own port, in this namespace.
        let own = format!("{name}t");
        ports.push(open_tap(None, own.clone()));
        must(&[
            "addr",
            "add",
            &format!("10.213.{subnet}.254/24"),
            "dev",
            &own,
        ]);
        must(&["link", "set", &own, "up"]);
        Arc::get_mut(&mut lab.switch)
            .expect("no thread holds the switch yet")
            .ports = ports;
        for port in 0..=hosts {
            let sw = lab.switch.clone();
            lab.threads
                .push(std::thread::spawn(move || sw.read_port(port)));
        }
        let sw = lab.switch.clone();
        lab.threads
            .push(std::thread::spawn(move || sw.deliver_delayed()));
        lab
    }

    pub fn hosts(&self) -> usize {
        self.namespaces.len()
    }

    pub fn addr(&self, host: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.subnet, host as u8 + 1)
    }

    /// Every host's address, comma separated (for `testnet init --hosts`).
    pub fn host_list(&self) -> String {
        (0..self.hosts())
            .map(|i| self.addr(i).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Starts `argv` inside host `host`'s namespace (`ip netns exec` execs it: the child's pid is
    /// the program's), output appended to `log`. Killed when the lab drops.
    pub fn spawn(&mut self, host: usize, argv: &[String], log: &std::path::Path) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.namespaces[host]])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        if let Some(mut old) = self.procs.insert(host, child) {
            let _ = old.kill();
            let _ = old.wait();
        }
    }

    /// SIGKILL to host `host`'s process, and wait until it is gone.
    pub fn kill9(&mut self, host: usize) {
        if let Some(mut child) = self.procs.remove(&host) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The pid of host `host`'s process.
    pub fn pid(&self, host: usize) -> u32 {
        self.procs[&host].id()
    }

    /// Sends `signal` (e.g. libc::SIGSTOP) to host `host`'s process.
    pub fn signal(&self, host: usize, signal: i32) {
        let pid = self.pid(host) as i32;
        // SAFETY: a pid this lab started and has not reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Milliseconds host `from` takes to open a TCP connection to `to`'s `port` (one round
    /// trip, through bash's /dev/tcp inside the namespace; includes starting bash).
    pub fn connect_ms(&self, from: usize, to: usize, port: u16) -> u128 {
        let started = Instant::now();
        let ok = Command::new("ip")
            .args(["netns", "exec", &self.namespaces[from], "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/{}/{port}", self.addr(to)))
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "host {from} cannot connect to host {to}:{port}");
        started.elapsed().as_millis()
    }

    /// Every link between hosts becomes `link`.
    pub fn impair_all(&self, link: Link) {
        let mut rules = self.switch.rules.lock().unwrap();
        for a in 0..self.hosts() {
            for b in 0..self.hosts() {
                if a != b {
                    rules.links.insert((a, b), link);
                }
            }
        }
    }

    /// Hosts in different groups cannot reach each other, in either direction; links within a
    /// group are left as they are.
    pub fn partition(&self, groups: &[&[usize]]) {
        let group_of = |h: usize| groups.iter().position(|g| g.contains(&h));
        let mut rules = self.switch.rules.lock().unwrap();
        for a in 0..self.hosts() {
            for b in 0..self.hosts() {
                if a != b && group_of(a) != group_of(b) {
                    rules.links.entry((a, b)).or_default().cut = true;
                }
            }
        }
    }

    /// Every link is perfect again.
    pub fn heal(&self) {
        self.switch.rules.lock().unwrap().links.clear();
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, mut child) in self.procs.drain() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.switch.stop.store(true, Ordering::Relaxed);
        self.switch.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // The TAP devices go with their last fd (the switch, now unshared).
        for ns in &self.namespaces {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}
