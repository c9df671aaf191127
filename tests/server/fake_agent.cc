#include "fake_agent.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "protocol/line_io.h"

namespace zp::server::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
}  // namespace

FakeAgent::FakeAgent(std::string node_id, std::vector<std::string> runtime_classes,
                     api::Resources capacity)
    : node_id_(std::move(node_id)),
      runtime_classes_(std::move(runtime_classes)),
      capacity_(capacity),
      acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
  acceptLoop();
  thread_ = std::thread([this] { io_.run(); });
}

FakeAgent::~FakeAgent() {
  asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  io_.stop();
  thread_.join();
}

std::string FakeAgent::address() const {
  return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
}

std::optional<api::WorkloadStatus> FakeAgent::workload(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = workloads_.find(id);
  if (it == workloads_.end()) return std::nullopt;
  return it->second;
}

void FakeAgent::setState(const std::string& id, api::WorkloadState state, std::string reason,
                         std::optional<int> exit_code) {
  std::lock_guard lock(mu_);
  auto& status = workloads_[id];
  status.id = id;
  status.node = node_id_;
  status.state = state;
  status.reason = std::move(reason);
  status.exit_code = exit_code;
}

void FakeAgent::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  workloads_.erase(id);
}

void FakeAgent::failStarts(std::optional<Error> error) {
  std::lock_guard lock(mu_);
  start_error_ = std::move(error);
}

int FakeAgent::count(const std::string& type) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(type);
  return it == counts_.end() ? 0 : it->second;
}

void FakeAgent::resetCounts() {
  std::lock_guard lock(mu_);
  counts_.clear();
}

protocol::ReplyBody FakeAgent::handle(const protocol::RequestBody& request) {
  std::lock_guard lock(mu_);
  ++counts_[std::string(protocol::typeName(request))];
  const auto notFound = [](const std::string& id) {
    return protocol::ErrorReply{Error{Code::kNotFound, "no workload \"" + id + "\"", ""}, id};
  };
  return std::visit(Overloaded{
                        [&](const protocol::StartWorkload& m) -> protocol::ReplyBody {
                          if (start_error_)
                            return protocol::ErrorReply{*start_error_, m.workload.id};
                          auto [it, inserted] = workloads_.try_emplace(m.workload.id);
                          if (inserted) {
                            it->second.id = m.workload.id;
                            it->second.node = node_id_;
                            it->second.state = api::WorkloadState::kPending;
                            it->second.reason = std::string(api::reason::kCreating);
                          }
                          return it->second;
                        },
                        [&](const protocol::GetStatus& m) -> protocol::ReplyBody {
                          auto it = workloads_.find(m.id);
                          if (it == workloads_.end()) return notFound(m.id);
                          return it->second;
                        },
                        [&](const protocol::StopWorkload& m) -> protocol::ReplyBody {
                          auto it = workloads_.find(m.id);
                          if (it == workloads_.end()) return notFound(m.id);
                          it->second.state = api::WorkloadState::kFailed;
                          return it->second;
                        },
                        [&](const protocol::RemoveWorkload& m) -> protocol::ReplyBody {
                          last_grace_seconds_ = m.timeout_seconds;
                          if (workloads_.erase(m.id) == 0) return notFound(m.id);
                          return protocol::Removed{m.id};
                        },
                        [&](const protocol::ListWorkloads&) -> protocol::ReplyBody {
                          protocol::WorkloadList list;
                          for (const auto& [id, status] : workloads_) list.items.push_back(status);
                          return list;
                        },
                        [&](const protocol::NodeInfo&) -> protocol::ReplyBody {
                          api::NodeInfo info;
                          info.node_id = node_id_;
                          info.capacity = capacity_;
                          info.allocatable = capacity_;
                          info.runtime_classes = runtime_classes_;
                          info.version = "fake";
                          info.workloads = static_cast<int>(workloads_.size());
                          return info;
                        },
                    },
                    request);
}

void FakeAgent::acceptLoop() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) return;  // closed
    if (mode_ == Mode::kDown) {
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      asio::co_spawn(
          io_,
          [this, s = std::move(socket)]() mutable -> asio::awaitable<void> {
            tcp::socket socket = std::move(s);
            protocol::LineReader<tcp::socket> reader(socket);
            while (true) {
              auto line = co_await reader.next();
              if (!line) co_return;
              if (mode_ == Mode::kSilent) continue;
              auto request = protocol::decodeRequest(*line);
              protocol::Reply reply;
              if (!request) {
                reply = protocol::Reply{request.error().req,
                                        protocol::ErrorReply{request.error().error, ""}};
              } else {
                reply = protocol::Reply{request->req, handle(request->body)};
              }
              if (mode_ == Mode::kWrongReq) reply.req = "not-" + reply.req.value_or("");
              std::string text = protocol::encodeReply(reply);
              auto written = co_await protocol::writeLine(socket, std::move(text));
              if (!written) co_return;
            }
          },
          asio::detached);
    }
    acceptLoop();
  });
}

}  // namespace zp::server::testing
