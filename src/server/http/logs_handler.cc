#include "server/http/logs_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "server/http/log_pump.h"

namespace zp::server {

namespace asio = boost::asio;

namespace {

constexpr const char* kKnownParameters = "tail, follow, timestamps, stream";
// Lines ready at once are sent together, up to about this many bytes.
constexpr std::size_t kChunkBytes = 64 * 1024;
// A follow whose node's connection failed tries again after this, doubling
// up to kResumeMaxDelay, and at every change of the workload's record.
constexpr std::chrono::milliseconds kResumeFirstDelay{250};
constexpr std::chrono::milliseconds kResumeMaxDelay{5'000};

std::optional<bool> parseBool(const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return std::nullopt;
}

// "Pending/Unschedulable", or the state alone when there is no reason: how
// an error names the record it is about.
std::string stateAndReason(const api::WorkloadStatus& status) {
  std::string shown(api::stateName(status.state));
  if (!status.reason.empty()) shown += "/" + status.reason;
  return shown;
}

// What the client sees of the log: one text line per record. A record the
// node sent in pieces (LogLine.partial on all but the last: it was longer
// than kMaxLogLineBytes) is joined back here, with the timestamp once, at
// its start. Pieces of one stream are joined; a line of
// the other stream in between ends the open line first (plain text cannot
// interleave two), and the record's rest then starts a line of its own.
class LineJoiner {
 public:
  explicit LineJoiner(bool timestamps) : timestamps_(timestamps) {}

  void append(const protocol::LogLine& line, std::string& out) {
    if (open_ && *open_ != line.stream) {
      out += '\n';
      open_.reset();
    }
    if (!open_ && timestamps_) {
      out += line.time;
      out += ' ';
    }
    out += line.line;
    if (line.partial) {
      open_ = line.stream;
    } else {
      out += '\n';
      open_.reset();
    }
  }

  // The body ends cleanly: a line still open ends too.
  void finish(std::string& out) {
    if (open_) out += '\n';
    open_.reset();
  }

 private:
  bool timestamps_;
  std::optional<std::string> open_;  // the stream of a line begun and not ended
};

// Why a body ends incomplete: the copy read was taken away (removed, or
// ended by the server) and no copy will follow, or a read without follow
// lost its copy.
Error copyRemoved(const store::WorkloadRecord& now) {
  return Error{
      Code::kUnavailable,
      "the log ends early: the copy read was removed; the workload is now " +
          stateAndReason(now.status) +
          (now.status.node.empty() ? std::string() : " on node \"" + now.status.node + "\""),
      ""};
}

// Whether a node's error may pass: it did not answer (its connection
// failed, it is unreachable, too slow) or has no log stream free now.
bool mayAnswerLater(const Error& error) {
  return error.code == Code::kUnavailable || error.code == Code::kDeadlineExceeded ||
         error.code == Code::kResourceExhausted;
}

}  // namespace

// What a response's producer shares with its close callback: the pump read
// now and, between copies, the watch waiting for the next one.
struct LogsHandler::Follow {
  std::shared_ptr<LogPump> pump;
  std::shared_ptr<Watcher> watcher;
  bool closed = false;
  // The wait before the next attempt to take the copy up again: doubled by
  // every attempt, back to the first once a line comes through.
  std::chrono::milliseconds resume_delay = kResumeFirstDelay;

  void close() {
    closed = true;
    if (pump) pump->cancel();
    if (watcher) watcher->cancel();
  }
};

std::expected<LogsQuery, HttpResponse> parseLogsQuery(const HttpRequest& request,
                                                      const std::string& id) {
  LogsQuery query;
  query.request.id = id;
  for (const auto& [key, value] : request.query) {
    const std::string shown = value.substr(0, 80);
    if (key == "tail") {
      auto n = wholeNumberParameter(value, 0, protocol::kMaxLogTail, "tail");
      if (!n) return std::unexpected(errorResponse(n.error()));
      query.request.tail = *n;
    } else if (key == "follow" || key == "timestamps") {
      auto flag = parseBool(value);
      if (!flag) {
        return std::unexpected(
            badRequest(key + " must be true or false, not \"" + shown + "\"", key));
      }
      (key == "follow" ? query.request.follow : query.request.timestamps) = *flag;
    } else if (key == "stream") {
      if (!protocol::isLogStream(value)) {
        return std::unexpected(
            invalid("stream must be stdout or stderr, not \"" + shown + "\"", "stream"));
      }
      query.request.stream = value;
    } else {
      const std::string name = key.substr(0, 80);
      return std::unexpected(badRequest(
          "unknown query parameter \"" + name + "\" (known: " + kKnownParameters + ")", name));
    }
  }
  return query;
}

LogsHandler::LogsHandler(Fleet& fleet, WorkloadLookup lookup, WatchHub* hub, LogsOptions options)
    : fleet_(fleet), lookup_(std::move(lookup)), hub_(hub), options_(options) {}

asio::awaitable<HttpResponse> LogsHandler::logs(HttpRequest request) {
  const std::string id = request.params["id"];
  auto query = parseLogsQuery(request, id);
  if (!query) co_return std::move(query.error());

  auto record = lookup_(id);
  if (!record) {
    if (record.error().code == Code::kNotFound) {
      co_return errorResponse(
          Error{Code::kNotFound, "no workload \"" + id.substr(0, 80) + "\"", ""});
    }
    co_return errorResponse(record.error());
  }
  const std::string node = record->status.node;
  if (node.empty()) {
    co_return errorResponse(Error{Code::kFailedPrecondition,
                                  "workload \"" + id.substr(0, 80) +
                                      "\" is not placed on a node yet, so it has no logs (" +
                                      stateAndReason(record->status) + ")",
                                  ""});
  }

  query->request.uid = record->status.uid;  // this placement's copy, not an older one
  // A follow keeps where it stands, to go on there after a failed connection.
  query->request.marks = query->request.follow && hub_ != nullptr;
  auto follow = std::make_shared<Follow>();
  auto opened = co_await openCopy(node, query->request, follow);
  if (!opened) {
    // The node's log streams are all in use (§8.2): the client may retry later.
    if (opened.error().code == Code::kResourceExhausted) {
      co_return errorResponse(http_status::kTooManyRequests, opened.error());
    }
    co_return errorResponse(opened.error());
  }
  if (!*opened) {
    const std::string shown = stateAndReason(record->status);
    // Placed, but not delivered yet: like a workload not placed yet (409).
    if (record->status.state == api::WorkloadState::kPending) {
      co_return errorResponse(Error{Code::kFailedPrecondition,
                                    "workload \"" + id.substr(0, 80) +
                                        "\" has not reached node \"" + node +
                                        "\" yet, so it has no logs (" + shown + ")",
                                    ""});
    }
    // The record outlives its copy (a fenced copy, a lost node, a copy the
    // node removed): say which record, so the 404 is not read as "no such
    // workload".
    co_return errorResponse(Error{Code::kNotFound,
                                  "node \"" + node + "\" no longer has workload \"" +
                                      id.substr(0, 80) + "\" (" + shown +
                                      "), so its logs are gone with its copy",
                                  ""});
  }

  HttpResponse response;
  response.content_type = "text/plain; charset=utf-8";
  response.stream = [this, follow, copy = Copy{*opened, node, record->status.uid},
                     query = std::move(*query)](ResponseStream& out) {
    return stream(out, follow, copy, query);
  };
  co_return response;
}

asio::awaitable<Result<std::shared_ptr<LogPump>>> LogsHandler::openCopy(
    std::string node, protocol::Logs request, std::shared_ptr<Follow> follow) {
  const bool positioned = request.marks || request.from;
  auto opening = openCopyAs(node, request, follow);
  auto pump = co_await std::move(opening);
  if (positioned && !pump && pump.error().code == Code::kInvalidArgument &&
      (pump.error().field == "marks" || pump.error().field.starts_with("from"))) {
    // An agent from before marks refuses the fields: its log as it can
    // give it (a follow of it ends incomplete when its connection fails).
    request.marks = false;
    request.from.reset();
    auto plain = openCopyAs(std::move(node), std::move(request), follow);
    co_return co_await std::move(plain);
  }
  co_return pump;
}

asio::awaitable<Result<std::shared_ptr<LogPump>>> LogsHandler::openCopyAs(
    std::string node, protocol::Logs request, std::shared_ptr<Follow> follow) {
  auto opened = co_await fleet_.openLogs(node, std::move(request));
  if (!opened) co_return fail(opened.error());
  auto pump = std::make_shared<LogPump>(co_await asio::this_coro::executor, std::move(*opened));
  follow->pump = pump;
  if (follow->closed) pump->cancel();
  // An answer that comes at once decides: the node's error, or no copy
  // when it does not have the workload.
  co_await pump->waitReady(options_.first_answer_wait);
  if (const LogPump::Item* first = pump->peek()) {
    const auto* end = *first ? std::get_if<protocol::LogEnd>(&**first) : nullptr;
    const bool no_copy = *first ? end != nullptr && end->reason == "NotFound"
                                : first->error().code == Code::kNotFound;
    if (no_copy) co_return std::shared_ptr<LogPump>();
    if (!*first) co_return fail(first->error());
  }
  co_return pump;
}

asio::awaitable<Result<std::optional<LogsHandler::Copy>>> LogsHandler::nextCopy(
    std::shared_ptr<Follow> follow, protocol::Logs request, std::string ended_uid, bool removed) {
  request.tail.reset();  // all of the next copy's log
  request.from.reset();
  auto now = lookup_(request.id);
  if (!now) {
    if (now.error().code == Code::kNotFound) co_return std::nullopt;
    co_return fail(now.error());
  }
  // Subscribe with the record as it is now (the first event): every later
  // change follows it.
  std::vector<store::WorkloadRecord> initial;
  initial.push_back(std::move(*now));
  WatchFilter one;
  one.id = request.id;
  std::shared_ptr<Watcher> watcher = hub_->subscribe(std::move(one), std::move(initial));
  follow->watcher = watcher;
  if (follow->closed) watcher->cancel();
  for (bool first = true;; first = false) {
    std::optional<WatchEvent> event = co_await watcher->next();
    if (!event) {
      co_return fail(watcher->error().value_or(
          Error{Code::kCancelled, "the follow ended while waiting for the next copy", ""}));
    }
    const api::WorkloadStatus& status = event->record.status;
    if (event->type == WatchEventType::kDeleted || status.reason == api::reason::kTerminating) {
      co_return std::nullopt;
    }
    const bool final = api::isTerminal(status.state);
    // The placement read. A copy that ended (Completed) is never read again;
    // one the node did not have (removed, or not delivered yet) is looked
    // for again at the record's next change.
    if (status.uid == ended_uid && (!removed || first)) {
      if (!final) continue;
      // Its end is the workload's: clean, unless its copy was taken away.
      if (removed || api::endedByServer(status)) co_return fail(copyRemoved(event->record));
      co_return std::nullopt;
    }
    if (status.node.empty()) continue;  // queued: wait for its placement
    request.uid = status.uid;
    auto pump = co_await openCopy(status.node, request, follow);
    if (!pump) co_return fail(pump.error());
    if (*pump == nullptr) {
      // Not on its node yet, or no longer: a final placement will not come.
      if (final) co_return fail(copyRemoved(event->record));
      continue;
    }
    follow->watcher.reset();
    co_return Copy{std::move(*pump), status.node, status.uid};
  }
}

asio::awaitable<Result<std::optional<LogsHandler::Copy>>> LogsHandler::resumeCopy(
    std::shared_ptr<Follow> follow, protocol::Logs request, Copy lost, protocol::LogPosition at) {
  request.tail.reset();
  // Asked only after a wait, also the first time: the connection has just
  // failed, and a node that fails each stream at once is not asked in a loop.
  bool waited = false;
  while (!follow->closed) {
    auto now = lookup_(request.id);
    if (!now) {
      if (now.error().code == Code::kNotFound) co_return std::nullopt;  // deleted
      co_return fail(now.error());
    }
    const api::WorkloadStatus& status = now->status;
    if (status.reason == api::reason::kTerminating) co_return std::nullopt;
    // Placed again (the node was lost, drained) or ended by the server: the
    // copy read is gone, and what follows is nextCopy's.
    if (status.uid != lost.uid || status.node != lost.node || api::endedByServer(status)) {
      auto moving = nextCopy(follow, std::move(request), lost.uid, /*removed=*/true);
      co_return co_await std::move(moving);
    }
    if (waited) {
      request.uid = lost.uid;
      request.from = at;
      auto opening = openCopy(lost.node, request, follow);
      auto pump = co_await std::move(opening);
      if (pump && *pump) co_return Copy{std::move(*pump), lost.node, lost.uid};
      if (pump) {
        // The node answers and no longer has the copy.
        auto moving = nextCopy(follow, std::move(request), lost.uid, /*removed=*/true);
        co_return co_await std::move(moving);
      }
      if (!mayAnswerLater(pump.error())) co_return fail(pump.error());
      spdlog::debug("logs of workload \"{}\": node \"{}\" does not answer yet: {}", request.id,
                    lost.node, pump.error().toString());
    }
    const auto delay = follow->resume_delay;
    follow->resume_delay = std::min(delay * 2, kResumeMaxDelay);
    auto waiting = awaitChange(follow, std::move(*now), delay);
    if (auto ended = co_await std::move(waiting); !ended) co_return fail(ended.error());
    waited = true;
  }
  co_return fail(Code::kCancelled, "the client left");
}

asio::awaitable<Status> LogsHandler::awaitChange(std::shared_ptr<Follow> follow,
                                                 store::WorkloadRecord now,
                                                 std::chrono::milliseconds most) {
  WatchFilter one;
  one.id = now.status.id;
  std::vector<store::WorkloadRecord> initial;
  initial.push_back(std::move(now));
  std::shared_ptr<Watcher> watcher = hub_->subscribe(std::move(one), std::move(initial));
  follow->watcher = watcher;
  if (follow->closed) watcher->cancel();
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(most);
  timer.async_wait(
      [weak = std::weak_ptr<Watcher>(watcher), timed_out](const boost::system::error_code& ec) {
        if (ec) return;
        *timed_out = true;
        if (auto w = weak.lock()) w->cancel();
      });
  auto as_it_was = watcher->next();
  std::optional<WatchEvent> event = co_await std::move(as_it_was);
  if (event) {
    auto changed = watcher->next();
    event = co_await std::move(changed);
  }
  timer.cancel();
  follow->watcher.reset();
  // Ended by itself (the server stops, the client left): no wait to go on with.
  if (!event && !*timed_out) {
    co_return fail(watcher->error().value_or(
        Error{Code::kCancelled, "the follow ended while waiting for its node", ""}));
  }
  co_return ok();
}

asio::awaitable<void> LogsHandler::stream(ResponseStream& out, std::shared_ptr<Follow> follow,
                                          Copy copy, LogsQuery query) {
  out.onClose([follow] { follow->close(); });
  LineJoiner joiner(query.request.timestamps);
  const bool following = query.request.follow && hub_ != nullptr;
  // Following: where the body stands in the copy's log (its last LogMark
  // and the lines after it), to take the copy up again there when the
  // connection to its node fails.
  std::optional<protocol::LogPosition> at;
  while (true) {
    std::optional<LogPump::Item> item = co_await copy.pump->take();
    if (!item) co_return;  // cancelled
    // Everything ready at once goes out in one chunk.
    std::string chunk;
    bool end = false;
    bool removed = false;  // the node no longer has the copy read
    bool moved = false;    // following: the copy ended or was removed; what next is nextCopy's
    std::optional<Error> failure;
    while (item) {
      if (const auto* mark = *item ? std::get_if<protocol::LogMark>(&**item) : nullptr) {
        at = protocol::LogPosition{mark->attempt, mark->offset, 0};
        item = copy.pump->tryTake();
        continue;
      }
      const auto* log_end = *item ? std::get_if<protocol::LogEnd>(&**item) : nullptr;
      const bool not_found = *item ? log_end != nullptr && log_end->reason == "NotFound"
                                   : item->error().code == Code::kNotFound;
      if (!*item && !not_found) {
        failure = item->error();
        break;
      }
      if (log_end != nullptr || not_found) {
        end = true;
        // NotFound: the node has no copy of the placement read (removed, or,
        // answered late, not delivered yet); Completed: the copy ended (a
        // node may also say so of a copy it is removing). A deletion ends
        // the body cleanly, and so does the end of the workload's last copy.
        // A follow goes on with the next copy of a workload that lives on
        // (a drain, a fenced copy); a read that does not follow ends
        // incomplete when its copy is removed.
        removed = not_found;
        if (following) {
          moved = true;  // nextCopy decides, from the record
        } else if (removed) {
          auto now = lookup_(query.request.id);
          if (now && now->status.reason != api::reason::kTerminating) failure = copyRemoved(*now);
        }
        break;
      }
      joiner.append(std::get<protocol::LogLine>(**item), chunk);
      if (at) ++at->skip;
      follow->resume_delay = kResumeFirstDelay;
      if (chunk.size() >= kChunkBytes) break;
      item = copy.pump->tryTake();
    }
    if (end && !failure) joiner.finish(chunk);  // a moved copy's open line ends with it
    if (!chunk.empty() && !co_await out.write(std::move(chunk))) co_return;
    // The node's connection failed mid-follow (the agent restarted, the
    // node went away): the copy is taken up again where the body stands
    // once its node answers, unless the workload moves on meanwhile.
    const bool resume = following && at && failure && mayAnswerLater(*failure);
    if (moved || resume) {
      Result<std::optional<Copy>> next = std::nullopt;
      if (resume) {
        spdlog::info(
            "logs of workload \"{}\": the stream from node \"{}\" failed ({}); following on "
            "once the node answers",
            query.request.id, copy.node, failure->message);
        auto resuming = resumeCopy(follow, query.request, copy, *at);
        next = co_await std::move(resuming);
      } else {
        auto moving = nextCopy(follow, query.request, copy.uid, removed);
        next = co_await std::move(moving);
      }
      if (!next) {
        failure = next.error();
      } else if (!*next) {
        co_return;  // deleted, or its last copy ended
      } else {
        spdlog::debug("logs of workload \"{}\": following its copy {} on node \"{}\"",
                      query.request.id, (*next)->uid, (*next)->node);
        // The same copy goes on from `at`; a new one sends its marks, and a
        // line of the old one left open ends.
        if ((*next)->uid != copy.uid) {
          at.reset();
          std::string ended;
          joiner.finish(ended);
          if (!ended.empty() && !co_await out.write(std::move(ended))) co_return;
        }
        copy = std::move(**next);
        failure.reset();
        continue;
      }
    }
    if (failure) {
      if (failure->code != Code::kCancelled) {
        spdlog::warn("logs of workload \"{}\" from node \"{}\" ended early: {}", query.request.id,
                     copy.node, failure->toString());
      }
      out.abort();
      co_return;
    }
    if (end) co_return;
  }
}

}  // namespace zp::server
