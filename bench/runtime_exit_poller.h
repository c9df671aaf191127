#pragma once
// RuntimeExitPoller: the runtime's own share of the exit delay, measured
// in the same run as zoneplane's (exit_delay_bench). For each workload it is
// given, it finds the workload's container by its labels and asks the CRI
// runtime for the container's status every `period` from a given moment on
// (just before the exit is due), until the runtime reports it exited. The
// figure of one workload is that moment minus the container's finished_at:
// how long the runtime itself took to show the exit to anyone who asks.
// Asking only around the exit keeps the load it adds to the runtime small.
//
// Thread-safe; one polling thread, owned, joined by stop() or the destructor.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cri/client.h"

namespace zp::bench {

class RuntimeExitPoller {
 public:
  explicit RuntimeExitPoller(std::unique_ptr<cri::Client> client,
                             std::chrono::milliseconds period = std::chrono::milliseconds(5));
  ~RuntimeExitPoller();
  RuntimeExitPoller(const RuntimeExitPoller&) = delete;
  RuntimeExitPoller& operator=(const RuntimeExitPoller&) = delete;

  // Polls the container of workload `id`, submission `uid` (its labels),
  // from `from` on (gives up 30 s later).
  void watch(const std::string& id, const std::string& uid,
             std::chrono::system_clock::time_point from);
  void stop();
  // Workload id -> ms from finished_at until the runtime reported the exit.
  std::map<std::string, double> delays() const;

 private:
  struct Watched {
    std::string id;
    std::string uid;
    std::chrono::system_clock::time_point from;
    std::string container_id;  // found on the first poll
  };
  void run();
  // One poll of `w`; true once it is done with (exited, or given up).
  bool poll(Watched& w);

  std::unique_ptr<cri::Client> client_;
  const std::chrono::milliseconds period_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<Watched> watched_;
  std::map<std::string, double> delays_;
  std::thread thread_;
};

}  // namespace zp::bench
