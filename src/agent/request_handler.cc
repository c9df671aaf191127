#include "agent/request_handler.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/await_callback.h"

namespace zp::agent {
namespace {

namespace asio = boost::asio;

protocol::ReplyBody errorBody(Error error, std::string id) {
  return protocol::ErrorReply{std::move(error), std::move(id)};
}

}  // namespace

Result<api::NodeInfo> RequestHandler::hello(const protocol::Hello& hello) const {
  const std::string& me = manager_.nodeId();
  if (hello.node_id != me) {
    return fail(Code::kFailedPrecondition,
                "this agent is node " + me + ", not " + hello.node_id, "node_id");
  }
  return nodeInfo(std::nullopt);
}

api::NodeInfo RequestHandler::nodeInfo(std::optional<std::int64_t> known_revision) const {
  auto info = manager_.nodeInfo();
  if (isolation_ == nullptr) return info;
  auto view = isolation_->view();
  info.isolation_revision = view.revision;
  if (known_revision != view.revision) info.isolation = std::move(view.classes);
  return info;
}

asio::awaitable<protocol::ReplyBody> RequestHandler::probe(std::string runtime_class) {
  if (isolation_ == nullptr) {
    co_return errorBody(Error{Code::kUnimplemented, "this agent does not probe isolation", ""}, "");
  }
  auto probing = awaitCallback<Status>([monitor = isolation_, runtime_class](auto done) {
    monitor->request(runtime_class, std::move(done));
  });
  auto probed = co_await std::move(probing);
  if (!probed) co_return errorBody(probed.error(), "");
  co_return protocol::ReplyBody{nodeInfo(std::nullopt)};
}

asio::awaitable<protocol::Reply> RequestHandler::handle(protocol::Request request,
                                                        ReplyStream& stream) {
  protocol::Reply reply{request.req, protocol::ReplyBody{}};
  auto& body = request.body;
  const std::string_view method = protocol::typeName(body);
  const auto started = std::chrono::steady_clock::now();
  if (auto* m = std::get_if<protocol::Hello>(&body)) {
    // The connection answers Hello itself; this keeps the answer the same
    // should one arrive here.
    auto node = hello(*m);
    reply.body = node ? protocol::ReplyBody{*node} : errorBody(node.error(), "");
  } else if (auto* m = std::get_if<protocol::StartWorkload>(&body)) {
    auto status = manager_.start(m->workload, m->uid);
    reply.body = status ? protocol::ReplyBody{*status} : errorBody(status.error(), m->workload.id);
  } else if (auto* m = std::get_if<protocol::GetStatus>(&body)) {
    auto status = manager_.status(m->id);
    reply.body = status ? protocol::ReplyBody{*status} : errorBody(status.error(), m->id);
  } else if (auto* m = std::get_if<protocol::StopWorkload>(&body)) {
    const std::string id = m->id;
    const std::chrono::seconds grace{m->timeout_seconds};
    // (GCC 12 destroys temporaries inside a co_await expression twice, so
    // every awaited operation is built in a named variable first.)
    auto op = asio::co_spawn(workers_, manager_.stop(id, grace), asio::use_awaitable);
    auto status = co_await std::move(op);
    reply.body = status ? protocol::ReplyBody{*status} : errorBody(status.error(), id);
  } else if (auto* m = std::get_if<protocol::RemoveWorkload>(&body)) {
    const std::string id = m->id;
    const std::chrono::seconds grace{m->timeout_seconds};
    const std::string uid = m->uid;
    auto op = asio::co_spawn(workers_, manager_.remove(id, grace, uid), asio::use_awaitable);
    auto status = co_await std::move(op);
    reply.body = status ? protocol::ReplyBody{protocol::Removed{id}} : errorBody(status.error(), id);
  } else if (auto* m = std::get_if<protocol::ListWorkloads>(&body)) {
    auto page = manager_.list(m->after, static_cast<std::size_t>(m->limit));
    reply.body = protocol::WorkloadList{std::move(page.items), std::move(page.next)};
  } else if (auto* m = std::get_if<protocol::NodeInfo>(&body)) {
    reply.body = nodeInfo(m->isolation_revision);
  } else if (auto* m = std::get_if<protocol::Logs>(&body)) {
    auto streaming = logs(std::move(*m), request.req, stream);
    reply.body = co_await std::move(streaming);
  } else if (auto* m = std::get_if<protocol::ProbeIsolation>(&body)) {
    auto probing = probe(m->runtime_class);
    reply.body = co_await std::move(probing);
  } else if (auto* m = std::get_if<protocol::ExecSync>(&body)) {
    if (exec_ == nullptr) {
      reply.body = errorBody(Error{Code::kUnimplemented, "this agent does not run execs", ""},
                             m->workload_id);
    } else {
      auto running = exec_->run(std::move(*m));
      reply.body = co_await std::move(running);
    }
  }
  if (observer_) {
    observer_(method, std::chrono::steady_clock::now() - started,
              std::holds_alternative<protocol::ErrorReply>(reply.body));
  }
  co_return reply;
}

}  // namespace zp::agent
