// The workload's network as the probe sees it: interface names, and who
// serves its socket calls.
//
// Telling gVisor's two network modes apart. Inside gVisor every system call
// is served by the Sentry, gVisor's kernel in user space. With its own
// network stack ("netstack", `--network=sandbox`, and `--network=none` with
// only loopback) sockets are the Sentry's objects too. With `--network=host`
// ("hostinet") the Sentry passes each socket call to a socket of the host
// kernel in the pod's network namespace: the host kernel's TCP/IP code then
// parses the workload's traffic and options.
//
// What tells them apart, measured with runsc 0.0~20221219 (Debian 12) on a
// Linux 6.18 host, `runsc --network=host do` against `runsc --network=none
// do` (the probe's test data keeps the recordings):
//
//   - TCP_INFO of a new, unconnected IPv4 TCP socket (the observable used).
//     A Linux kernel initialises every TCP socket when it is created
//     (tcp_init_sock): snd_cwnd 10 (TCP_INIT_CWND), rto 1000000 us
//     (TCP_TIMEOUT_INIT), snd_mss 536 (TCP_MSS_DEFAULT). Hostinet returns
//     exactly these (the host kernel answers getsockopt), byte for byte what
//     the same call returns on the host itself. Netstack fills TCP_INFO from
//     its sender state, which exists only once a connection is made: before
//     that rto, snd_cwnd and snd_mss are all 0. The values are constants of
//     Linux's TCP code, not sysctls, so a host cannot make them look like
//     netstack's, and the call needs no privilege and sends no packet.
//   - Seen as well, not used: hostinet refuses socket(AF_PACKET) and raw
//     sockets with EAFNOSUPPORT where netstack says EPERM (no CAP_NET_RAW);
//     hostinet answers ENOPROTOOPT for many options netstack knows
//     (TCP_KEEPIDLE, TCP_USER_TIMEOUT, SO_RCVLOWAT); the default SO_SNDBUF is
//     the host's (16384) against netstack's 1 MiB; TCP_CONGESTION is the
//     host's ("bbr" here) against netstack's "reno". These depend on the
//     gVisor version, the capabilities or the host's sysctls.
//   - Not telling: /proc/net/dev and /sys/class/net (both list interfaces),
//     /proc/sys/net (gVisor's own files in both modes), /proc/net/tcp (the
//     Sentry lists its sockets in both).
//
// So host_network_stack is set only under an application kernel (a sign in
// KernelFacts::application_kernel_signs): true when TCP_INFO carries Linux's
// initial values, false when it is empty. Elsewhere the kernel that answers
// is the one serving everything else and the field stays nullopt.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "probe/collect_parts.h"

namespace zp::probe {
namespace {

TcpInfoSample sampleTcpInfo() {
  TcpInfoSample sample;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    sample.error = errno;
    return sample;
  }
  struct tcp_info info {};
  socklen_t length = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) {
    sample.error = errno;
  } else {
    sample.rto_us = info.tcpi_rto;
    sample.snd_cwnd = info.tcpi_snd_cwnd;
    sample.snd_mss = info.tcpi_snd_mss;
  }
  ::close(fd);
  return sample;
}

std::string describe(const TcpInfoSample& s) {
  return "rto " + std::to_string(s.rto_us) + " us, snd_cwnd " + std::to_string(s.snd_cwnd) +
         ", snd_mss " + std::to_string(s.snd_mss);
}

}  // namespace

NetworkStackDecision decideNetworkStack(bool application_kernel, const TcpInfoSample& sample) {
  NetworkStackDecision d;
  if (sample.error != 0) {
    d.evidence = "TCP_INFO of a new TCP socket: " + errorText(sample.error);
    return d;
  }
  const std::string seen = "TCP_INFO of a new TCP socket: " + describe(sample);
  const bool linux_initialised = sample.rto_us > 0 && sample.snd_cwnd > 0;
  const bool empty = sample.rto_us == 0 && sample.snd_cwnd == 0 && sample.snd_mss == 0;
  if (!application_kernel) {
    d.evidence = seen + "; no application kernel, the kernel serves its own sockets";
  } else if (linux_initialised) {
    d.host_network_stack = true;
    d.evidence = seen +
                 " (a Linux kernel's initial values) under an application kernel: "
                 "socket calls are passed to the host kernel's network stack";
  } else if (empty) {
    d.host_network_stack = false;
    d.evidence = seen +
                 " (not initialised before a connection) under an application kernel: "
                 "its own network stack";
  } else {
    d.evidence = seen +
                 " under an application kernel: neither a Linux kernel's initial "
                 "values nor an empty record";
  }
  return d;
}

void collectNetwork(NetworkFacts& network, const KernelFacts& kernel, Notes& notes) {
  FileText dev = readFileBounded("/proc/net/dev", 64 * 1024);
  if (dev.ok()) {
    network.interfaces = parseProcNetDev(dev.text, kMaxInterfaces);
  } else {
    notes.failed("/proc/net/dev", dev.error);
  }
  NetworkStackDecision d =
      decideNetworkStack(!kernel.application_kernel_signs.empty(), sampleTcpInfo());
  network.host_network_stack = d.host_network_stack;
  network.host_network_evidence = sanitizeText(d.evidence, 1024);
}

}  // namespace zp::probe
