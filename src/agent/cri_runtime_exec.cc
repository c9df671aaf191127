// CriRuntime::execSync: CRI ExecSync, and what its failures mean.

#include <chrono>
#include <string>

#include "agent/cri_runtime.h"
#include "agent/exec_errors.h"

namespace zp::agent {
namespace {

class Finished final : public PendingCall {
 public:
  void cancel() override {}
};

}  // namespace

std::shared_ptr<PendingCall> CriRuntime::execSync(std::string_view runtime_class,
                                                  std::string_view container_id,
                                                  std::vector<std::string> command,
                                                  std::chrono::milliseconds timeout,
                                                  std::function<void(Result<ExecOutput>)> done) {
  auto b = binding(runtime_class);
  if (!b) {
    done(fail(b.error()));
    return std::make_shared<Finished>();
  }
  const auto started = std::chrono::steady_clock::now();
  return b->client->execSyncAsync(
      container_id, command, timeout, {},
      [done = std::move(done), started, timeout](Result<cri::v1::ExecSyncResponse> response) {
        if (!response) {
          const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - started);
          return done(execFailure(std::move(response.error()), elapsed, timeout));
        }
        ExecOutput out;
        out.exit_code = response->exit_code();
        out.stdout_bytes = std::move(*response->mutable_stdout());
        out.stderr_bytes = std::move(*response->mutable_stderr());
        done(std::move(out));
      });
}

}  // namespace zp::agent
