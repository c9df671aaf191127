#include "agent/exec_runner.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "agent/await_callback.h"
#include "protocol/exec_output.h"

namespace zp::agent {

namespace asio = boost::asio;

std::uint64_t ExecRunner::admit(Error& refusal) {
  std::lock_guard lock(mutex_);
  if (stopped_) {
    refusal = Error{Code::kCancelled, "the agent is stopping", ""};
    return 0;
  }
  if (calls_.size() >= max_running_) {
    refusal = Error{Code::kResourceExhausted,
                    "node \"" + manager_.nodeId() + "\" already runs " +
                        std::to_string(max_running_) + " execs; try again later",
                    ""};
    return 0;
  }
  const auto id = next_id_++;
  calls_.emplace(id, nullptr);
  return id;
}

void ExecRunner::release(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  calls_.erase(id);
}

void ExecRunner::shutdown() {
  std::vector<std::shared_ptr<PendingCall>> calls;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    for (auto& [id, call] : calls_) {
      if (call) calls.push_back(call);
    }
  }
  for (auto& call : calls) call->cancel();
}

std::size_t ExecRunner::running() const {
  std::lock_guard lock(mutex_);
  return calls_.size();
}

asio::awaitable<protocol::ReplyBody> ExecRunner::run(protocol::ExecSync request) {
  const std::string id = request.workload_id;
  const auto refused = [&](Error error) {
    return protocol::ReplyBody{protocol::ErrorReply{std::move(error), id}};
  };
  auto target = manager_.execTarget(id, request.uid);
  if (!target) co_return refused(target.error());
  Error refusal;
  const auto slot = admit(refusal);
  if (slot == 0) co_return refused(std::move(refusal));
  struct Release {
    ExecRunner& runner;
    std::uint64_t slot;
    ~Release() { runner.release(slot); }
  } release{*this, slot};

  const std::chrono::milliseconds timeout{request.timeout_ms};
  spdlog::info("workload \"{}\": exec of {} argument(s) in container {} (timeout {} ms)", id,
               request.command.size(), target->container_id, timeout.count());
  auto executing = awaitCallback<Result<ExecOutput>>([this, slot, where = *target,
                                                      command = std::move(request.command),
                                                      timeout](auto done) mutable {
    auto call = runtime_.execSync(where.runtime_class, where.container_id, std::move(command),
                                  timeout, std::move(done));
    bool cancel = false;
    {
      std::lock_guard lock(mutex_);
      if (auto it = calls_.find(slot); it != calls_.end()) it->second = call;
      cancel = stopped_;
    }
    if (cancel) call->cancel();
  });
  auto output = co_await std::move(executing);
  if (!output) {
    spdlog::info("workload \"{}\": exec failed: {}", id, output.error().message);
    co_return refused(std::move(output.error()));
  }
  const auto cap = static_cast<std::size_t>(request.max_output_bytes);
  auto out = protocol::capUtf8(output->stdout_bytes, cap);
  auto err = protocol::capUtf8(output->stderr_bytes, cap);
  co_return protocol::ReplyBody{protocol::ExecResult{
      output->exit_code, std::move(out.text), std::move(err.text), out.truncated, err.truncated}};
}

}  // namespace zp::agent
