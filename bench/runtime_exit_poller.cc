#include "runtime_exit_poller.h"

#include <cstdio>

#include "agent/runtime.h"

namespace zp::bench {

RuntimeExitPoller::RuntimeExitPoller(std::unique_ptr<cri::Client> client,
                                     std::chrono::milliseconds period)
    : client_(std::move(client)), period_(period), thread_([this] { run(); }) {}

RuntimeExitPoller::~RuntimeExitPoller() { stop(); }

void RuntimeExitPoller::watch(const std::string& id, const std::string& uid,
                              std::chrono::system_clock::time_point from) {
  {
    std::lock_guard lock(mu_);
    watched_.push_back(Watched{id, uid, from, ""});
  }
  wake_.notify_one();
}

void RuntimeExitPoller::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::map<std::string, double> RuntimeExitPoller::delays() const {
  std::lock_guard lock(mu_);
  return delays_;
}

void RuntimeExitPoller::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto now = std::chrono::system_clock::now();
    std::vector<Watched> due;
    for (auto it = watched_.begin(); it != watched_.end();) {
      if (it->from <= now) {
        due.push_back(std::move(*it));
        it = watched_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    std::vector<Watched> again;
    for (auto& w : due) {
      if (!poll(w)) again.push_back(std::move(w));
    }
    lock.lock();
    for (auto& w : again) watched_.push_back(std::move(w));
    wake_.wait_for(lock, period_);
  }
}

bool RuntimeExitPoller::poll(Watched& w) {
  const auto now = std::chrono::system_clock::now();
  if (now - w.from > std::chrono::seconds(30)) {
    std::fprintf(stderr, "runtime poller: %s never showed an exit\n", w.id.c_str());
    return true;
  }
  if (w.container_id.empty()) {
    cri::v1::ContainerFilter filter;
    (*filter.mutable_label_selector())[std::string(agent::kLabelWorkloadId)] = w.id;
    (*filter.mutable_label_selector())[std::string(agent::kLabelUid)] = w.uid;
    auto containers = client_->listContainers(filter);
    if (!containers || containers->empty()) return false;
    w.container_id = containers->front().id();
  }
  auto status = client_->containerStatus(w.container_id);
  if (!status) return false;
  const auto& s = status->status();
  if (s.state() != cri::v1::CONTAINER_EXITED || s.finished_at() == 0) return false;
  const auto seen = std::chrono::system_clock::now();
  const std::chrono::system_clock::time_point finished{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(s.finished_at()))};
  std::lock_guard lock(mu_);
  delays_[w.id] = std::chrono::duration<double, std::milli>(seen - finished).count();
  return true;
}

}  // namespace zp::bench
