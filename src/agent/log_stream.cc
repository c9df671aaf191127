// RequestHandler::logs: the Logs request (docs/architecture.md §3). Reads
// the workload's CRI log with a LogReader on the workers executor, a block
// at a time, and writes LogLine replies to the connection, waiting whenever
// the connection has too much unwritten (so a slow client never makes the
// agent buffer a log). Following, it polls the file and the workload's
// status every LogOptions::poll: a restart's new attempt is followed into
// its own log file; the stream ends once the workload is final and its log
// drained, or when the client goes away. With Logs.marks it sends a LogMark
// wherever the reader stands on whole records after a batch (and where it
// starts), and Logs.from starts at such a mark, skipping the lines the
// client had after it.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <memory>

#include "agent/cri_configs.h"
#include "agent/log_reader.h"
#include "agent/request_handler.h"

namespace zp::agent {
namespace {

namespace asio = boost::asio;

using Lines = std::vector<protocol::LogLine>;

// The coroutines that run on the workers executor (blocking file reads).
// Opens the log at `path`, positioned at its last `tail` records or at byte
// `offset` (a LogMark's), else at its start.
asio::awaitable<Result<std::shared_ptr<LogReader>>> openLog(std::string path,
                                                            std::optional<std::string> stream,
                                                            std::optional<std::int64_t> tail,
                                                            std::optional<std::int64_t> offset) {
  auto opened = LogReader::open(path, stream);
  if (!opened) co_return fail(opened.error());
  std::shared_ptr<LogReader> reader = std::move(*opened);
  if (tail) {
    if (auto s = reader->seekTail(static_cast<std::size_t>(*tail)); !s) co_return fail(s.error());
  } else if (offset) {
    if (auto s = reader->seek(static_cast<std::uint64_t>(*offset)); !s) co_return fail(s.error());
  }
  co_return reader;
}

asio::awaitable<Result<Lines>> readLog(std::shared_ptr<LogReader> reader, std::size_t batch,
                                       bool flush) {
  co_return reader->read(batch, flush);
}

protocol::ReplyBody logEnd(std::string reason) { return protocol::LogEnd{std::move(reason)}; }

// The restart whose log `path` is, from its name (restart_count moves on as
// soon as a restart is due, before the new container logs anywhere).
std::int64_t attemptOf(const api::WorkloadStatus& status) {
  return logAttempt(status.log_path).value_or(static_cast<unsigned>(status.restart_count));
}

}  // namespace

asio::awaitable<protocol::ReplyBody> RequestHandler::logs(protocol::Logs request,
                                                          std::optional<std::string> req,
                                                          ReplyStream& stream) {
  auto status = manager_.status(request.id);
  if (!status) co_return protocol::ErrorReply{status.error(), request.id};
  // A copy of another submission than the one asked for is not the log asked for.
  const auto other_copy = [&](const api::WorkloadStatus& now) {
    return !request.uid.empty() && now.uid != request.uid;
  };
  if (other_copy(*status)) {
    co_return protocol::ErrorReply{
        Error{Code::kNotFound,
              "workload \"" + request.id + "\" on this node is another submission (uid " +
                  status->uid + ", not " + request.uid + ")",
              "uid"},
        request.id};
  }
  std::string path = status->log_path;
  std::int64_t path_attempt = attemptOf(*status);     // the restart whose log `path` is
  std::int64_t attempt = path_attempt;                // the restart whose log `reader` reads
  std::optional<std::int64_t> tail = request.tail;
  std::optional<std::int64_t> offset;  // where to open `path` (Logs.from)
  std::int64_t skip = 0;               // lines after it the client has
  if (request.from) {
    // An earlier restart's log is read from the mark while its file is
    // left; once it is gone, the current one from its start.
    std::error_code ec;
    const auto earlier = (std::filesystem::path(path).parent_path() /
                          containerLogName(static_cast<unsigned>(request.from->attempt)))
                             .string();
    if (request.from->attempt == attempt ||
        (request.from->attempt < attempt && std::filesystem::exists(earlier, ec))) {
      if (request.from->attempt != attempt) path = earlier;
      path_attempt = request.from->attempt;
      offset = request.from->offset;
      skip = request.from->skip;
    }
  }
  // The LogMark of where the reader stands, when asked for and it stands on
  // whole records past every line to skip.
  const auto markOf = [&](const LogReader& at) -> std::optional<protocol::LogMark> {
    const auto clean = at.cleanOffset();
    if (!request.marks || skip > 0 || !clean) return std::nullopt;
    return protocol::LogMark{attempt, static_cast<std::int64_t>(*clean)};
  };
  std::shared_ptr<LogReader> reader;  // null until the file exists
  bool final_seen = false;            // the workload was final at the last look
  bool switching = false;             // a restart moved the log: drain, then switch
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);

  while (!stream.closed()) {
    if (!reader) {
      auto opening = asio::co_spawn(workers_, openLog(path, request.stream, tail, offset),
                                    asio::use_awaitable);
      auto opened = co_await std::move(opening);
      if (opened) {
        reader = std::move(*opened);
        attempt = path_attempt;
        // An offset past the end read the file from its start (it was
        // replaced): none of its lines is the client's.
        if (offset && reader->cleanOffset() != static_cast<std::uint64_t>(*offset)) skip = 0;
        if (auto at = markOf(*reader)) {
          auto writing = stream.write(protocol::Reply{req, *at});
          if (!co_await std::move(writing)) co_return logEnd("Disconnected");
        }
      } else if (opened.error().code != Code::kNotFound) {
        co_return protocol::ErrorReply{opened.error(), request.id};
      } else if (!request.follow) {
        co_return logEnd("Completed");  // no log written yet: nothing to show
      }
    }
    if (reader) {
      const bool flush = !request.follow || final_seen || switching;
      auto reading = asio::co_spawn(workers_, readLog(reader, logs_.batch, flush),
                                    asio::use_awaitable);
      auto lines = co_await std::move(reading);
      if (!lines) co_return protocol::ErrorReply{lines.error(), request.id};
      for (auto& line : *lines) {
        if (skip > 0) {
          --skip;  // the client has it (Logs.from)
          continue;
        }
        auto writing = stream.write(protocol::Reply{req, std::move(line)});
        if (!co_await std::move(writing)) co_return logEnd("Disconnected");
      }
      if (auto at = lines->empty() ? std::nullopt : markOf(*reader)) {
        auto writing = stream.write(protocol::Reply{req, *at});
        if (!co_await std::move(writing)) co_return logEnd("Disconnected");
      }
      // Read on until a read reaches the end and finds nothing new.
      if (!lines->empty() || !reader->drained()) continue;
      if (!request.follow) co_return logEnd("Completed");
    }
    // Drained (or no log yet), following.
    if (switching) {
      reader.reset();
      tail.reset();
      offset.reset();
      skip = 0;
      switching = false;
      final_seen = false;
      continue;
    }
    auto now = manager_.status(request.id);
    if (!now || other_copy(*now)) co_return logEnd("NotFound");  // removed meanwhile
    if (now->log_path != path) {
      // A restart: the next attempt logs to its own file. Read what is left
      // of this one (flushed), then follow the new one from its start.
      path = now->log_path;
      path_attempt = attemptOf(*now);
      if (reader) {
        switching = true;
        continue;
      }
      tail.reset();
      offset.reset();
      skip = 0;
      continue;
    }
    if (api::isTerminal(now->state)) {
      if (final_seen) co_return logEnd("Completed");
      // The runtime may still be writing the last lines: one more look
      // after a poll interval, flushing what is pending.
      final_seen = true;
    }
    timer.expires_after(logs_.poll);
    boost::system::error_code ignored;
    auto waiting = timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    co_await std::move(waiting);
  }
  co_return logEnd("Disconnected");
}

}  // namespace zp::agent
