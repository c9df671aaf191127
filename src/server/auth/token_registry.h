#pragma once
// The server's API tokens in memory (docs/architecture.md §9.3): loaded from
// the store at start, changed by the /tokens routes and the join flow, and
// written through the CommitQueue.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "server/async_event.h"
#include "server/auth/token.h"
#include "store/commit_queue.h"
#include "store/store.h"

namespace zp::server::auth {

// Owns the token records (never a secret: their hashes) and answers lookups
// by id and name. Another process (`zoneplane-server tokens create|revoke`)
// may change the tokens in the database while the server runs, so the
// registry re-reads the store (on the commit queue's thread, never the
// executor): when find() meets an id it does not know, at most once per
// `refresh_interval`, and from tick() every `reconcile_interval`. A re-read
// adds the tokens it finds and drops those that are gone from the store.
//
// Writes: create/revoke/spend wait until durable; last-use times are written
// at most once per `touch_interval` per token and not awaited.
//
// Borrows the commit queue and the clock, which must outlive it. Runs on the
// executor given at construction; not thread-safe.
class TokenRegistry {
 public:
  struct Options {
    std::chrono::milliseconds refresh_interval{1000};
    std::chrono::seconds touch_interval{60};
    std::chrono::seconds reconcile_interval{10};
  };

  TokenRegistry(boost::asio::any_io_executor executor, store::CommitQueue& commits,
                const Clock& clock, Options options);
  TokenRegistry(boost::asio::any_io_executor executor, store::CommitQueue& commits,
                const Clock& clock)
      : TokenRegistry(std::move(executor), commits, clock, Options{}) {}

  // Replaces the tokens with `tokens` (at start, before the executor runs).
  void load(std::vector<store::TokenRecord> tokens);

  // The token with `id`; re-reads the store first when it is not known (see
  // above). nullopt when it does not exist.
  boost::asio::awaitable<std::optional<store::TokenRecord>> find(std::string id);

  // Every token, named ones ordered by name, then unnamed join tokens by id.
  std::vector<store::TokenRecord> list() const;

  // Creates a token as `spec` says: re-reads the store first so a name
  // taken by another process is seen (kAlreadyExists), then commits it
  // (kUnavailable when that fails: nothing changed) and adds it.
  boost::asio::awaitable<Result<IssuedToken>> create(TokenSpec spec);

  // Revokes the token named `name`, or the unnamed join token whose id it
  // is (kNotFound): refused from now on, deleted durably before this
  // returns; restored when the delete fails.
  boost::asio::awaitable<Result<store::TokenRecord>> revoke(std::string name);

  // Marks the join token `id` used, in memory: false when it is unknown or
  // was used already. Called by authentication, so two requests can never
  // both pass with one join token.
  bool claim(const std::string& id);
  // Makes a claim durable (kUnavailable when the commit fails: the token
  // stays used in memory, so it cannot be used again before a restart).
  boost::asio::awaitable<Status> persistUse(std::string id);

  // Notes a successful authentication of `id` (last_used_at).
  void touch(const std::string& id);

  // Starts a re-read when the last one is older than reconcile_interval
  // (from the server's tick loop).
  void tick();

 private:
  struct Entry {
    store::TokenRecord record;
    std::optional<TimePoint> persisted_use;  // last_used_at as last written
  };
  // Reads the store and makes the tokens here what it holds (see above).
  // Joins a read in flight; unless `force`, reads at most once per
  // refresh_interval.
  boost::asio::awaitable<void> refresh(bool force);
  void merge(std::vector<store::TokenRecord> stored);
  void add(store::TokenRecord record);
  void erase(const std::string& id);

  boost::asio::any_io_executor executor_;
  store::CommitQueue& commits_;
  const Clock& clock_;
  const Options options_;
  std::map<std::string, Entry> by_id_;
  std::map<std::string, std::string> by_name_;  // name -> id
  // Ids deleted here whose DeleteToken may not be durable yet: a store read
  // that started before it must not bring them back.
  std::set<std::string> revoking_;
  std::set<std::string> creating_;  // names of tokens whose PutToken is not durable yet
  bool refreshing_ = false;
  std::optional<TimePoint> last_refresh_;
  AsyncEvent refreshed_;
};

}  // namespace zp::server::auth
