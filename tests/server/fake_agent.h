#pragma once
// A fake zoneplane-agent for server tests: a real TCP server on 127.0.0.1
// speaking the line protocol of docs/architecture.md §3 (Hello first, req
// echoed, many requests per connection, pushes to subscribed connections,
// paged ListWorkloads, Logs streams), with an in-memory registry instead of a
// CRI runtime. With a TLS context (tls::serverContext requiring a client
// certificate, as the agent's) every connection first completes a TLS
// handshake and must present the identity `server`, else it is closed
// (docs/architecture.md §9.2). Runs its own io_context on its own thread; every public method
// is thread-safe and must not be called from that thread. Methods that act
// on connections return once the action is queued on them.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/node.h"
#include "api/workload.h"
#include "protocol/messages.h"

namespace zp::server::testing {

class FakeAgent {
 public:
  enum class Mode {
    kNormal,   // answers every request
    kDown,     // accepts connections and closes them at once (unreachable)
    kSilent,   // reads requests and never answers (timeouts, no heartbeat)
    kWrongReq  // answers with a different "req"
  };

  // `tls` null: plain TCP.
  FakeAgent(std::string node_id, std::vector<std::string> runtime_classes, api::Resources capacity,
            std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~FakeAgent();

  std::string address() const;  // "127.0.0.1:<port>"; the same after restart()
  void setMode(Mode mode) { mode_ = mode; }

  // Registry: StartWorkload adds a Pending status (idempotent on (id, uid);
  // another uid is AlreadyExists), RemoveWorkload erases (with a uid: only
  // that copy; another uid is answered Removed and left alone),
  // GetStatus/ListWorkloads report.
  std::optional<api::WorkloadStatus> workload(const std::string& id) const;
  // Sets a workload's state (creating it if needed) and pushes the new
  // status to subscribed connections (unless setAutoPush(false)).
  void setState(const std::string& id, api::WorkloadState state, std::string reason = {},
                std::optional<int> exit_code = std::nullopt);
  // Adds or replaces a workload as given, without a push.
  void put(api::WorkloadStatus status);
  void forget(const std::string& id);  // as if the sandbox vanished
  // Answer every StartWorkload with this error instead.
  void failStarts(std::optional<Error> error);
  // Whether setState and StartWorkload push (default true, like the agent).
  void setAutoPush(bool on) { auto_push_ = on; }
  // Sends WorkloadEvent{status} to every subscribed connection.
  void push(const api::WorkloadStatus& status);
  // Pushes `status` right after the answer to the next ListWorkloads.
  void pushAfterNextList(const api::WorkloadStatus& status);
  // Writes `line` + '\n' as is to every connection that said Hello.
  void sendRaw(const std::string& line);
  // The next `n` replies are held, then sent in reverse order.
  void holdReplies(int n);
  // While on, slow calls (StopWorkload, RemoveWorkload) stay unanswered
  // until releaseSlowCalls() (as if their containers ignored SIGTERM).
  void holdSlowCalls(bool on);
  // Answers every held slow call (and stops holding further ones).
  void releaseSlowCalls();
  int heldSlowCalls() const;
  // Isolation (docs/architecture.md §10): the list NodeInfo answers carry
  // (in full unless the request names the current revision). Each set bumps
  // the revision; the server learns it from its next heartbeat.
  void setIsolation(std::vector<api::ClassIsolation> classes);
  std::int64_t isolationRevision() const;
  // What the next ProbeIsolation installs (bumping the revision) before it
  // answers; without one a probe answers the current list. A probe of a
  // class the node does not offer is NotFound.
  void setProbeResult(std::vector<api::ClassIsolation> classes);
  // The isolation_revision each NodeInfo request named (nullopt: none), in
  // arrival order; and the runtime_class of each ProbeIsolation.
  std::vector<std::optional<std::int64_t>> nodeInfoRevisions() const;
  std::vector<std::string> probes() const;
  // ExecSync: answered by `answer` (default: a workload it does not have is
  // NotFound, one it has answers exit code 0 with the command's words on
  // stdout, one per line). execs() lists the requests in arrival order.
  void setExecAnswer(std::function<protocol::ReplyBody(const protocol::ExecSync&)> answer);
  std::vector<protocol::ExecSync> execs() const;
  // How many Node answers carried the isolation list.
  int isolationLists() const;
  // Off: like an agent that does not verify isolation (older, or without a
  // probe): no Node answer carries `isolation` and ProbeIsolation is
  // Unimplemented. On by default.
  void setVerifies(bool on);

  // Like the agent's per-connection limit of slow requests: a connection
  // that holds `n` slow calls reads nothing more until one ends (0: no limit).
  void setMaxSlowCalls(int n);

  // The log of a workload. A Logs request gets its lines (the last `tail`),
  // then LogEnd{"Completed"}; with follow, the stream stays open for
  // appendLog() lines until endLogs(). An id without a log: LogEnd{"NotFound"}.
  void setLog(const std::string& id, std::vector<protocol::LogLine> lines);
  void appendLog(const std::string& id, const protocol::LogLine& line);
  void endLogs(const std::string& id);

  // Closes every open connection (the listener stays).
  void dropConnections();
  // Closes the listener and every connection: connecting is refused.
  void stop();
  // Listens again on the same port.
  void restart();

  // How many requests of a type ("StartWorkload", ...) arrived.
  int count(const std::string& type) const;
  void resetCounts();
  // Open connections (handshakes included), and those subscribed to pushes.
  int connections() const;
  // Connections that failed the TLS handshake or the peer check, and the
  // last such failure.
  int tlsFailures() const;
  std::string lastTlsFailure() const;
  int subscribers() const;
  // (id, uid) of every StartWorkload and RemoveWorkload answered, in arrival order.
  using Copy = std::pair<std::string, std::string>;
  std::vector<Copy> starts() const {
    std::lock_guard lock(mu_);
    return starts_;
  }
  std::vector<Copy> removals() const {
    std::lock_guard lock(mu_);
    return removals_;
  }
  // timeout_seconds of the last RemoveWorkload.
  std::int64_t lastGraceSeconds() const {
    std::lock_guard lock(mu_);
    return last_grace_seconds_;
  }

  struct Conn;  // one accepted connection (fake_agent.cc)

 private:
  protocol::ReplyBody handle(const protocol::RequestBody& request);
  api::NodeInfo nodeInfoLocked(bool with_isolation);  // mu_ held
  void listen();
  void acceptLoop();
  void serve(std::shared_ptr<Conn> conn);
  void startConversation(const std::shared_ptr<Conn>& conn);
  void onLine(const std::shared_ptr<Conn>& conn, const std::string& line);
  void send(const std::shared_ptr<Conn>& conn, protocol::Reply reply);
  void pushLocked(const api::WorkloadStatus& status);  // on the io thread
  // Runs `f` on the io thread and waits for it.
  void onIo(const std::function<void()>& f) const;

  std::string node_id_;
  std::vector<std::string> runtime_classes_;
  api::Resources capacity_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::atomic<Mode> mode_{Mode::kNormal};
  std::atomic<bool> auto_push_{true};

  mutable std::mutex mu_;
  std::map<std::string, api::WorkloadStatus> workloads_;
  std::map<std::string, int> counts_;
  std::optional<Error> start_error_;
  std::int64_t last_grace_seconds_ = -1;
  std::vector<Copy> starts_;
  std::vector<Copy> removals_;
  std::vector<api::ClassIsolation> isolation_;
  std::int64_t isolation_revision_ = 1;
  std::optional<std::vector<api::ClassIsolation>> probe_result_;
  std::vector<std::optional<std::int64_t>> info_revisions_;
  std::vector<std::string> probes_;
  std::function<protocol::ReplyBody(const protocol::ExecSync&)> exec_answer_;
  std::vector<protocol::ExecSync> execs_;
  int isolation_lists_ = 0;
  bool verifies_ = true;
  int next_uid_ = 1;
  int tls_failures_ = 0;
  std::string last_tls_failure_;

  // io thread only:
  std::set<std::shared_ptr<Conn>> conns_;
  std::map<std::string, std::vector<protocol::LogLine>> logs_;
  int hold_ = 0;
  bool hold_slow_ = false;
  int max_slow_ = 0;
  std::vector<api::WorkloadStatus> push_after_list_;
  std::vector<std::pair<std::shared_ptr<Conn>, protocol::Reply>> held_;

  mutable boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
};

}  // namespace zp::server::testing
