#pragma once
// Talking to node agents over the line protocol (docs/architecture.md §3).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "protocol/messages.h"

namespace zp::server {

// One request/reply exchange with the agent at an address. The seam server
// tests replace with a fake.
class AgentClient {
 public:
  virtual ~AgentClient() = default;

  // Sends `request` to the agent at `address` ("HOST:PORT") and returns its
  // reply. An agent `Error` reply becomes an Error with the agent's code and
  // message. Failing to reach the agent at all (connect, broken or closed
  // connection) is kUnavailable; no complete answer within `timeout` is
  // kDeadlineExceeded; kCancelled after shutdown(). Never throws.
  virtual boost::asio::awaitable<Result<protocol::ReplyBody>> call(
      const std::string& address, protocol::RequestBody request,
      std::chrono::milliseconds timeout) = 0;

  // Aborts the calls in flight (they end with kCancelled) and refuses new
  // ones, so the executor can run out of work at shutdown.
  virtual void shutdown() = 0;
};

// True for the errors that mean "the agent could not be reached or did not
// answer" (as opposed to an answer that is an error).
bool isUnreachable(const Error& error);

// AgentClient over plain TCP. Opens a new connection per request (simple and
// good enough at today's request rates; a pooled, pipelined connection per
// node using the protocol's "req" correlation is the natural next step).
// Each request carries a unique "req" and the reply must echo it.
//
// Runs on the executor of the coroutine that calls it (one io_context in the
// server); not thread-safe: call it and shutdown() from that executor only.
class TcpAgentClient final : public AgentClient {
 public:
  TcpAgentClient() = default;

  boost::asio::awaitable<Result<protocol::ReplyBody>> call(
      const std::string& address, protocol::RequestBody request,
      std::chrono::milliseconds timeout) override;
  void shutdown() override;

  struct Exchange;  // the state of one call, shared with its timer (agent_client.cc)

 private:
  std::uint64_t next_req_ = 1;
  std::uint64_t next_call_ = 1;
  bool shut_down_ = false;
  std::map<std::uint64_t, std::weak_ptr<Exchange>> in_flight_;
};

}  // namespace zp::server

namespace zp::server {

// Narrows a reply to the type the request expects (kInternal otherwise).
template <typename T>
Result<T> expectReply(Result<protocol::ReplyBody> reply, std::string_view request_type) {
  if (!reply) return fail(std::move(reply.error()));
  if (auto* body = std::get_if<T>(&*reply)) return std::move(*body);
  return fail(Code::kInternal, "agent answered " + std::string(request_type) + " with " +
                                   std::string(protocol::typeName(*reply)));
}

}  // namespace zp::server
