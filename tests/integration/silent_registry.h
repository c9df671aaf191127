#pragma once
// SilentRegistry: a "registry" on 127.0.0.1 (port 0) that accepts TCP
// connections and never answers, so image pulls from it hang until they are
// cancelled, time out, or close() drops the connections; or, given a
// greeting, writes that to every connection once it has sent something (a
// server that is no registry)
// and is silent afterwards. Owns its listening socket, every accepted
// connection and one accept thread.

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zp::agent_it {

class SilentRegistry {
 public:
  SilentRegistry() = default;
  SilentRegistry(const SilentRegistry&) = delete;
  SilentRegistry& operator=(const SilentRegistry&) = delete;
  ~SilentRegistry() { close(); }

  // Listens; false if the socket could not be set up. `greeting` (if any)
  // is written to each connection as it is accepted.
  bool start(std::string greeting = {});
  // Stops listening and closes every accepted connection (pulls then fail).
  void close();
  // Connections accepted so far (open or closed by close()).
  std::size_t accepted();
  // Accepted connections the peer has closed meanwhile.
  std::size_t closedByPeer();
  unsigned short port() const { return port_; }

 private:
  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<int> accepted_;
  std::size_t closed_ = 0;
};

}  // namespace zp::agent_it
