// WorkloadService::exec (workload_service.h): ExecSync on the workload's node.

#include <string>

#include "protocol/exec_output.h"
#include "server/workloads/workload_service.h"

namespace zp::server {

namespace asio = boost::asio;

asio::awaitable<ExecAnswer> WorkloadService::exec(std::string id, std::vector<std::string> command,
                                                  std::chrono::seconds timeout) {
  ExecAnswer answer{"", fail(Code::kInternal, "exec did not run")};
  auto record = get(id);
  if (!record) {
    answer.result = fail(record.error());
    co_return answer;
  }
  const std::string& node = record->status.node;
  answer.node = node;
  const auto shown_state = [&] {
    std::string state(api::stateName(record->status.state));
    if (!record->status.reason.empty()) state += "/" + record->status.reason;
    return state;
  };
  if (node.empty()) {
    answer.result =
        fail(Code::kFailedPrecondition,
             "workload \"" + id + "\" is not placed on a node yet (" + shown_state() + ")");
    co_return answer;
  }
  if (auto state = fleet_.nodeStatus(node); !state || state->state != NodeState::kReady) {
    answer.result = fail(Code::kUnavailable,
                         "node \"" + node + "\" of workload \"" + id + "\" is " +
                             (state ? std::string(nodeStateName(state->state)) : "unknown"));
    co_return answer;
  }
  if (record->status.state != api::WorkloadState::kRunning) {
    answer.result = fail(Code::kFailedPrecondition,
                         "workload \"" + id + "\" is " + shown_state() + ", not Running");
    co_return answer;
  }

  protocol::ExecSync request;
  request.workload_id = id;
  request.uid = record->status.uid;
  request.command = std::move(command);
  request.timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  request.max_output_bytes = protocol::kMaxExecOutputBytes;
  // A command of many arguments full of characters JSON escapes could
  // outgrow one protocol line; refuse it here rather than lose the link.
  if (protocol::encodeRequest({std::string(protocol::kMaxReqLength, 'r'), request}).size() >
      protocol::kMaxLineBytes) {
    answer.result = fail(Code::kInvalidArgument, "command is too long once encoded", "command");
    co_return answer;
  }
  const auto wait =
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout) + options_.exec_margin;
  auto calling = fleet_.call(node, std::move(request), wait);
  auto reply = co_await std::move(calling);
  if (!reply) {
    Error error = std::move(reply.error());
    // The node does not have this copy (yet, or any more): a state conflict
    // for the caller, like a workload that is not running.
    if (error.code == Code::kNotFound) error.code = Code::kFailedPrecondition;
    // The node's answer says so; a call the node never answered in time
    // is told the same way (the command ran past its timeout meanwhile).
    if (error.code == Code::kDeadlineExceeded &&
        error.message.find("did not finish") == std::string::npos) {
      error.message = "the command did not finish within " + std::to_string(timeout.count()) +
                      " s (" + error.message + ")";
    }
    answer.result = fail(std::move(error));
    co_return answer;
  }
  auto* result = std::get_if<protocol::ExecResult>(&*reply);
  if (result == nullptr) {
    answer.result = fail(Code::kInternal, "node \"" + node + "\" answered ExecSync with " +
                                              std::string(protocol::typeName(*reply)));
    co_return answer;
  }
  // The agent caps its streams; an agent that does not is capped here.
  auto out = protocol::capUtf8(result->stdout_text, protocol::kMaxExecOutputBytes);
  auto err = protocol::capUtf8(result->stderr_text, protocol::kMaxExecOutputBytes);
  result->stdout_text = std::move(out.text);
  result->stderr_text = std::move(err.text);
  result->stdout_truncated = result->stdout_truncated || out.truncated;
  result->stderr_truncated = result->stderr_truncated || err.truncated;
  answer.result = std::move(*result);
  co_return answer;
}

}  // namespace zp::server
