#include "agent/request_handler.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace zp::agent {
namespace {

namespace asio = boost::asio;

protocol::ReplyBody errorBody(Error error, std::string id) {
  return protocol::ErrorReply{std::move(error), std::move(id)};
}

template <typename Fn>
auto callBlocking(Fn fn) -> asio::awaitable<decltype(fn())> {
  co_return fn();
}

// Runs `fn` on `workers` and resumes the caller on its own executor.
// (GCC 12 destroys temporaries inside a co_await expression twice, so every
// awaited operation here is built in a named variable first.)
template <typename Fn>
auto onWorkers(asio::any_io_executor workers, Fn fn) -> asio::awaitable<decltype(fn())> {
  auto call = callBlocking(std::move(fn));
  auto spawned = asio::co_spawn(workers, std::move(call), asio::use_awaitable);
  co_return co_await std::move(spawned);
}

}  // namespace

asio::awaitable<protocol::Reply> RequestHandler::handle(protocol::Request request) {
  protocol::Reply reply{request.req, protocol::ReplyBody{}};
  auto& body = request.body;
  if (auto* m = std::get_if<protocol::StartWorkload>(&body)) {
    auto status = manager_.start(m->workload);
    reply.body = status ? protocol::ReplyBody{*status} : errorBody(status.error(), m->workload.id);
  } else if (auto* m = std::get_if<protocol::GetStatus>(&body)) {
    auto status = manager_.status(m->id);
    reply.body = status ? protocol::ReplyBody{*status} : errorBody(status.error(), m->id);
  } else if (auto* m = std::get_if<protocol::StopWorkload>(&body)) {
    const std::string id = m->id;
    const std::chrono::seconds grace{m->timeout_seconds};
    auto op = onWorkers(workers_, [this, id, grace] { return manager_.stop(id, grace); });
    auto status = co_await std::move(op);
    reply.body = status ? protocol::ReplyBody{*status} : errorBody(status.error(), id);
  } else if (auto* m = std::get_if<protocol::RemoveWorkload>(&body)) {
    const std::string id = m->id;
    const std::chrono::seconds grace{m->timeout_seconds};
    auto op = onWorkers(workers_, [this, id, grace] { return manager_.remove(id, grace); });
    auto status = co_await std::move(op);
    reply.body = status ? protocol::ReplyBody{protocol::Removed{id}} : errorBody(status.error(), id);
  } else if (std::holds_alternative<protocol::ListWorkloads>(body)) {
    reply.body = protocol::WorkloadList{manager_.list()};
  } else if (std::holds_alternative<protocol::NodeInfo>(body)) {
    reply.body = manager_.nodeInfo();
  }
  co_return reply;
}

}  // namespace zp::agent
