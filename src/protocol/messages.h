#pragma once
// The control plane <-> agent protocol (docs/architecture.md §3): one JSON object per
// line; every request may carry "req", echoed in its reply. This header holds
// the typed messages and their codec; it does no I/O.
//
// Requests:  Hello {node_id, subscribe?} (first on every connection),
//            StartWorkload {workload, uid?}, GetStatus {id}, StopWorkload {id,
//            timeout_seconds?}, RemoveWorkload {id, uid?, timeout_seconds?},
//            ListWorkloads {limit?, continue?}, NodeInfo {isolation_revision?},
//            Logs {id, tail?, follow?, timestamps?, stream?},
//            ProbeIsolation {runtime_class?}, ExecSync {workload_id, uid?,
//            command, timeout_ms?, max_output_bytes?}.
// Replies:   Status {…WorkloadStatus}, WorkloadList {items, continue?}, Node
//            {…NodeInfo}, Removed {id}, LogLine {time, stream, line, partial?},
//            LogEnd {reason}, ExecResult {exit_code, stdout, stderr,
//            stdout_truncated, stderr_truncated}, Error {id?, code, message,
//            field?}.
// Pushes:    WorkloadEvent {workload} (no req) on a subscribed connection.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"

namespace zp::protocol {

// A line (without its '\n') may be at most this long.
inline constexpr std::size_t kMaxLineBytes = 1 << 20;
inline constexpr std::size_t kMaxReqLength = 256;
// Stop grace period bounds, seconds.
inline constexpr std::int64_t kDefaultStopTimeoutSeconds = 10;
inline constexpr std::int64_t kMaxStopTimeoutSeconds = 300;
// ListWorkloads page size bounds.
inline constexpr std::int64_t kDefaultListLimit = 500;
inline constexpr std::int64_t kMaxListLimit = 1000;
// A submission uid: 1..64 characters of [a-z0-9-].
inline constexpr std::size_t kMaxUidLength = 64;
// Logs: a longer log line is cut (LogLine.partial) at this many bytes.
inline constexpr std::size_t kMaxLogLineBytes = 16 * 1024;
inline constexpr std::int64_t kMaxLogTail = 100'000;
// Logs.from: each of attempt, offset and skip is at most this (2^53 - 1,
// exact in any JSON reader).
inline constexpr std::int64_t kMaxLogPosition = (std::int64_t{1} << 53) - 1;
// ExecSync bounds: argv of 1..kMaxExecArgs strings of 1..kMaxExecArgBytes
// bytes (no NUL); the whole request line must also fit kMaxLineBytes.
inline constexpr std::size_t kMaxExecArgs = 64;
inline constexpr std::size_t kMaxExecArgBytes = 4096;
inline constexpr std::int64_t kDefaultExecTimeoutMs = 10'000;
inline constexpr std::int64_t kMaxExecTimeoutMs = 300'000;
// Each output stream of an ExecResult holds at most this many bytes of UTF-8
// (exec_output.h). Two such streams, JSON-escaped (at most 6 bytes per
// byte), stay well under kMaxLineBytes: the reply fits by construction.
inline constexpr std::int64_t kMaxExecOutputBytes = 64 * 1024;

// Opens every connection: the agent refuses it unless `node_id` is its own.
// With `subscribe`, the connection also receives WorkloadEvent pushes.
struct Hello {
  std::string node_id;
  bool subscribe = false;
};

struct StartWorkload {
  api::WorkloadSpec workload;
  // The submission (placement) this start belongs to; empty: the agent makes one.
  std::string uid = {};
};
struct GetStatus {
  std::string id;
};
struct StopWorkload {
  std::string id;
  std::int64_t timeout_seconds = kDefaultStopTimeoutSeconds;  // grace before SIGKILL
};
struct RemoveWorkload {
  std::string id;
  std::int64_t timeout_seconds = kDefaultStopTimeoutSeconds;  // grace for a still-running container
  // When set, only the copy of this submission is removed (the fence); a copy
  // with another uid is left alone and the reply is still Removed.
  std::string uid = {};
};
// One page of the node's workloads, ordered by id, after `after` ("continue").
struct ListWorkloads {
  std::int64_t limit = kDefaultListLimit;
  std::string after;
};
// The node's NodeInfo. The reply carries `isolation` in full unless
// `isolation_revision` is the agent's current one (§10): a heartbeat sends the
// revision it holds, so an unchanged verification is not sent again.
struct NodeInfo {
  std::optional<std::int64_t> isolation_revision = {};
};
// Probes the node's runtime classes now (all, or only `runtime_class`) and
// answers, once every probe asked for has finished or failed, with the Node
// reply (isolation in full). A slow request (§3); an unknown class is
// Error{NotFound}. Probes already running are joined, not repeated.
struct ProbeIsolation {
  std::string runtime_class = {};  // "" = every class
};
// Where a follow stands in a copy's log (LogMark): `skip` lines (LogLine
// replies, pieces included) after byte `offset` of the log of restart
// `attempt`, whose last line before it ended there.
struct LogPosition {
  std::int64_t attempt = 0;
  std::int64_t offset = 0;
  std::int64_t skip = 0;
};
// Streams the container log: LogLine replies, then one LogEnd.
struct Logs {
  std::string id;
  std::optional<std::int64_t> tail;  // the last N lines (of `stream` when set); unset: all
  bool follow = false;               // keep streaming until the workload is final
  bool timestamps = false;           // informational: the server formats the lines
  // "stdout" or "stderr": only that stream's lines (and `tail` counts only
  // them); unset: both streams.
  std::optional<std::string> stream = {};
  // The submission whose copy to read, when set: a copy of another uid is
  // answered Error{NotFound}, and a follow ends with LogEnd{NotFound} once
  // the node's copy is no longer of this uid.
  std::string uid = {};
  // Ask for LogMark replies: where the lines sent so far end in the log.
  bool marks = false;
  // Start there instead of at the start (or `tail`; not both): a follow
  // taken up again after its connection failed. A position past the end of
  // the file reads it from its start (the file was replaced), and one in
  // the log of a restart whose file is gone reads the current restart's
  // from its start.
  std::optional<LogPosition> from = {};
};

// Runs `command` (argv, no shell) in the workload's running container as
// the container's own process would run (same user, capabilities and
// no_new_privs) and answers ExecResult once it ends. A slow request (§3):
// kDeadlineExceeded when it has not ended within `timeout_ms` (the runtime
// kills it); kFailedPrecondition when the workload is not Running or its
// copy is of another submission than `uid` (when set); kNotFound when the
// node has no such workload; kResourceExhausted when the agent runs its
// most execs at once. Output streams are capped at `max_output_bytes`.
struct ExecSync {
  std::string workload_id;
  std::string uid = {};
  std::vector<std::string> command = {};
  std::int64_t timeout_ms = kDefaultExecTimeoutMs;               // 1..kMaxExecTimeoutMs
  std::int64_t max_output_bytes = kMaxExecOutputBytes;           // 0..kMaxExecOutputBytes
};

using RequestBody = std::variant<Hello, StartWorkload, GetStatus, StopWorkload, RemoveWorkload,
                                 ListWorkloads, NodeInfo, Logs, ProbeIsolation, ExecSync>;

struct Request {
  std::optional<std::string> req;
  RequestBody body;
};

struct WorkloadList {
  std::vector<api::WorkloadStatus> items;
  std::string next = {};  // "continue": the id to list after; empty on the last page
};
// Pushed (no req) on a subscribed connection when a workload's status changes.
struct WorkloadEvent {
  api::WorkloadStatus workload;
};
struct LogLine {
  std::string time;    // RFC 3339 with nanoseconds, as the runtime wrote it
  std::string stream;  // "stdout" or "stderr"
  std::string line;    // without the newline; at most kMaxLogLineBytes
  bool partial = false;  // cut at kMaxLogLineBytes, or the runtime's partial line
};
// Ends a Logs stream: "Completed" (the workload is final and its log drained,
// or not following), "NotFound", or why it stopped.
struct LogEnd {
  std::string reason;
};
// Sent between LogLines when Logs.marks is set, wherever the reader stands
// at the boundary of whole records: every line sent before it ends at byte
// `offset` of the log of restart `attempt`, so Logs.from = {attempt,
// offset, skip: lines received after it} resumes right after the last line
// received.
struct LogMark {
  std::int64_t attempt = 0;
  std::int64_t offset = 0;
};
struct Removed {
  std::string id;
};
// The answer to ExecSync: the command's exit code and its output, each
// stream valid UTF-8 cut at the request's max_output_bytes (exec_output.h).
struct ExecResult {
  int exit_code = 0;
  std::string stdout_text;
  std::string stderr_text;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
};
struct ErrorReply {
  Error error;
  std::string id;  // the workload concerned, empty if none
};

using ReplyBody = std::variant<api::WorkloadStatus, WorkloadList, api::NodeInfo, Removed,
                               ErrorReply, WorkloadEvent, LogLine, LogEnd, LogMark, ExecResult>;

struct Reply {
  std::optional<std::string> req;
  ReplyBody body;
};

// A request line that could not be decoded: the error, plus whatever
// correlation could still be read from it, so the Error reply can echo them.
struct RequestError {
  Error error;
  std::optional<std::string> req;
  std::string id;
};

// Decodes and validates one request line (without '\n'). Every field is
// checked (ids are DNS-1123 labels, workloads pass validateWorkloadSpec,
// unknown fields are rejected).
std::expected<Request, RequestError> decodeRequest(std::string_view line);
// Encodes a request as one line, without the trailing '\n'.
std::string encodeRequest(const Request& request);

// True for a well-formed submission uid (1..kMaxUidLength of [a-z0-9-]).
bool isValidUid(std::string_view uid);
// True for a log stream name: "stdout" or "stderr".
bool isLogStream(std::string_view stream);
// Checks an exec command against the ExecSync bounds; the error names
// `field` (e.g. "command[2]").
Status validateExecCommand(const std::vector<std::string>& command, std::string_view field);

// Decodes one reply line. Tolerates unknown fields (newer agents).
Result<Reply> decodeReply(std::string_view line);
// Encodes a reply as one line, without the trailing '\n'.
std::string encodeReply(const Reply& reply);

// The "type" value of each message.
std::string_view typeName(const RequestBody& body);
std::string_view typeName(const ReplyBody& body);

}  // namespace zp::protocol
