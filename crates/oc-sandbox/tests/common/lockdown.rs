//! The lockdown probes a sandboxed program must pass, whatever started it (a run, a REPL): Python
//! programs that print what they find, and the assertions on what they printed.
//!
//! Network probes only target addresses that can't leave this machine even if the sandbox were
//! broken: TEST-NET-1 (192.0.2.1, never routed) stands in for "a public IP", plus the Docker
//! bridge gateway (this host). Under `--network none` the connect fails inside the container
//! with ENETUNREACH before any packet exists; the probe also lists the network interfaces.

use super::Ran;

async fn bridge_gateway() -> String {
    let docker = bollard::Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let net = docker
        .inspect_network("bridge", None)
        .await
        .expect("inspect bridge network");
    let cfg = net
        .ipam
        .and_then(|i| i.config)
        .and_then(|c| c.into_iter().next())
        .expect("bridge IPAM config");
    if let Some(gw) = cfg.gateway.filter(|g| !g.is_empty()) {
        return gw;
    }
    // Older daemons leave Gateway empty: it is the subnet's first address.
    let subnet = cfg.subnet.expect("bridge subnet");
    let base = subnet.split('/').next().unwrap();
    let mut octets: Vec<u8> = base.split('.').map(|o| o.parse().unwrap()).collect();
    octets[3] += 1;
    format!("{}.{}.{}.{}", octets[0], octets[1], octets[2], octets[3])
}

/// A program that tries the network: a public address, the bridge gateway (and a Docker API port
/// there), DNS and UDP.
pub async fn network_probe() -> String {
    let gw = bridge_gateway().await;
    format!(
        r#"
import os, socket, errno
print("IFACES", sorted(os.listdir("/sys/class/net")))
def tcp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, port))
        return "CONNECTED"
    except OSError as e:
        return "ERRNO=%s" % errno.errorcode.get(e.errno, e.errno)
    finally:
        s.close()
print("PUBLIC", tcp("192.0.2.1", 80))
print("GATEWAY", tcp("{gw}", 80))
print("GATEWAY_DOCKER_API", tcp("{gw}", 2375))
try:
    socket.getaddrinfo("example.com", 80)
    print("DNS RESOLVED")
except OSError as e:
    print("DNS FAILED", type(e).__name__)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.sendto(b"x", ("192.0.2.1", 53))
    print("UDP SENT")
except OSError as e:
    print("UDP ERRNO=%s" % errno.errorcode.get(e.errno, e.errno))
"#
    )
}

/// What [`network_probe`] printed shows no network at all.
pub fn assert_no_network(r: &Ran) {
    assert!(r.outcome.success(), "{}", r.all());
    assert!(
        r.stdout.contains("IFACES ['lo']"),
        "container has a network interface besides lo:\n{}",
        r.all()
    );
    assert!(r.stdout.contains("PUBLIC ERRNO=ENETUNREACH"), "{}", r.all());
    assert!(
        r.stdout.contains("GATEWAY ERRNO=ENETUNREACH"),
        "{}",
        r.all()
    );
    assert!(
        r.stdout.contains("GATEWAY_DOCKER_API ERRNO=ENETUNREACH"),
        "{}",
        r.all()
    );
    assert!(r.stdout.contains("DNS FAILED"), "{}", r.all());
    assert!(r.stdout.contains("UDP ERRNO=ENETUNREACH"), "{}", r.all());
}

/// A program that tries to write outside `/tmp` and reports its identity, capabilities, mounts,
/// environment and limits.
pub const FILESYSTEM_PROBE: &str = r#"
import os
for d in ["/", "/etc", "/usr", "/usr/bin", "/var", "/root", "/home", "/opt"]:
    p = os.path.join(d, "oc-probe")
    try:
        with open(p, "w") as f:
            f.write("x")
        print("WROTE", p)
    except OSError as e:
        print("DENIED", d, e.strerror)
with open("/tmp/ok", "w") as f:
    f.write("tmp is writable")
print("TMP", open("/tmp/ok").read())
mounts = open("/proc/self/mounts").read().splitlines()
root = [m for m in mounts if m.split()[1] == "/"][0]
print("ROOTOPTS", root.split()[3].split(",")[0])
tmp = [m for m in mounts if m.split()[1] == "/tmp"][0]
print("TMPOPTS", tmp.split()[3])
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
for k in ["Uid", "Gid", "CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp"]:
    print(k.upper(), status[k].split()[0] if k in ("Uid", "Gid") else status[k].strip())
print("UID", os.getuid(), os.geteuid())
print("ENVKEYS", ",".join(sorted(os.environ)))
print("DOCKERSOCK", os.path.exists("/var/run/docker.sock") or os.path.exists("/run/docker.sock"))
print("PID1", open("/proc/1/cmdline").read().replace("\0", " ").strip())
import resource
print("NOFILE", resource.getrlimit(resource.RLIMIT_NOFILE))
import subprocess
print("IDU", subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip())
try:
    os.setuid(0)
    print("SETUID OK")
except OSError as e:
    print("SETUID DENIED")
"#;

/// What [`FILESYSTEM_PROBE`] printed shows a read-only root, the sandbox user without privileges
/// and nothing of the host.
pub fn assert_locked_filesystem(r: &Ran) {
    assert!(r.outcome.success(), "{}", r.all());
    let out = &r.stdout;
    assert!(!out.contains("WROTE"), "wrote outside /tmp:\n{}", r.all());
    for d in ["/", "/etc", "/usr"] {
        assert!(out.contains(&format!("DENIED {d} ")), "{d}:\n{}", r.all());
    }
    assert!(out.contains("TMP tmp is writable"), "{}", r.all());
    assert!(
        out.contains("ROOTOPTS ro"),
        "root filesystem is not read-only:\n{}",
        r.all()
    );
    let tmpopts = out.lines().find(|l| l.starts_with("TMPOPTS")).unwrap();
    assert!(
        tmpopts.contains("nosuid") && tmpopts.contains("nodev"),
        "{tmpopts}"
    );
    assert!(out.contains("UID 65534 65534"), "{}", r.all());
    assert!(
        out.contains("IDU 65534"),
        "`id -u` is not 65534:\n{}",
        r.all()
    );
    assert!(out.contains("GID 65534"), "{}", r.all());
    assert!(out.contains("CAPEFF 0000000000000000"), "{}", r.all());
    assert!(out.contains("CAPPRM 0000000000000000"), "{}", r.all());
    assert!(out.contains("CAPBND 0000000000000000"), "{}", r.all());
    assert!(out.contains("NONEWPRIVS 1"), "{}", r.all());
    assert!(
        out.contains("SECCOMP 2"),
        "no seccomp filter active:\n{}",
        r.all()
    );
    assert!(out.contains("SETUID DENIED"), "{}", r.all());
    assert!(out.contains("DOCKERSOCK False"), "{}", r.all());
    assert!(out.contains("NOFILE (64, 256)"), "{}", r.all());
    // Only the variables the sandbox sets (plus PWD/OLDPWD from the shell's `cd`).
    let keys = out.lines().find(|l| l.starts_with("ENVKEYS ")).unwrap();
    assert_eq!(
        keys,
        "ENVKEYS HOME,HOSTNAME,LANG,LC_ALL,OLDPWD,PATH,PWD,PYTHONDONTWRITEBYTECODE,PYTHONUNBUFFERED,TMPDIR",
        "{}",
        r.all()
    );
}
