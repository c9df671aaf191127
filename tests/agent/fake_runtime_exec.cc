// FakeRuntime's ExecSync (fake_runtime.h).

#include "fake_runtime.h"

namespace zp::agent::testing {
namespace {
class Answered final : public PendingCall {
 public:
  void cancel() override {}
};
}  // namespace

void FakeRuntime::setExecHook(ExecHook hook) {
  std::lock_guard lock(mutex_);
  exec_hook_ = std::move(hook);
}

void FakeRuntime::holdExecs(bool hold) {
  std::lock_guard lock(mutex_);
  hold_execs_ = hold;
}

void FakeRuntime::finishExecs() {
  std::vector<std::function<void(Status)>> done;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, d] : held_["exec"]) done.push_back(std::move(d));
    held_["exec"].clear();
  }
  for (auto& d : done) d(ok());
}

int FakeRuntime::heldExecs() const {
  std::lock_guard lock(mutex_);
  auto it = held_.find("exec");
  return it == held_.end() ? 0 : static_cast<int>(it->second.size());
}

int FakeRuntime::execCalls() const {
  std::lock_guard lock(mutex_);
  return exec_calls_;
}

std::shared_ptr<PendingCall> FakeRuntime::execSync(std::string_view,
                                                   std::string_view container_id_view,
                                                   std::vector<std::string> command,
                                                   std::chrono::milliseconds timeout,
                                                   std::function<void(Result<ExecOutput>)> done) {
  const std::string container_id(container_id_view);
  ExecHook hook;
  Status outcome = ok();
  // Answers with the hook once released (or with the error that ended it).
  auto answer = [container_id, command, timeout, done](ExecHook hook, Status status) {
    if (!status) return done(fail(status.error()));
    if (!hook) return done(ExecOutput{});
    done(hook(container_id, command, timeout));
  };
  {
    std::lock_guard lock(mutex_);
    ++exec_calls_;
    outcome = downError();
    if (outcome && !containers_.contains(container_id)) {
      outcome = fail(Code::kNotFound, "fake runtime: no container " + container_id);
    }
    hook = exec_hook_;
    if (outcome && hold_execs_) {
      return hold("exec", [answer, hook](Status status) { answer(hook, std::move(status)); });
    }
  }
  answer(hook, outcome);
  return std::make_shared<Answered>();
}

}  // namespace zp::agent::testing
