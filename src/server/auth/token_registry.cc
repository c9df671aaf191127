#include "server/auth/token_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <functional>

#include "server/commit.h"

namespace zp::server::auth {

namespace asio = boost::asio;

TokenRegistry::TokenRegistry(asio::any_io_executor executor, store::CommitQueue& commits,
                             const Clock& clock, Options options)
    : executor_(executor),
      commits_(commits),
      clock_(clock),
      options_(options),
      refreshed_(std::move(executor)) {}

void TokenRegistry::load(std::vector<store::TokenRecord> tokens) {
  by_id_.clear();
  by_name_.clear();
  for (auto& token : tokens) add(std::move(token));
  last_refresh_ = clock_.now();
}

void TokenRegistry::add(store::TokenRecord record) {
  const std::string id = record.id;
  if (!record.name.empty()) by_name_[record.name] = id;
  auto persisted = record.last_used_at;
  by_id_[id] = Entry{std::move(record), persisted};
}

void TokenRegistry::erase(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  if (!it->second.record.name.empty()) by_name_.erase(it->second.record.name);
  by_id_.erase(it);
}

asio::awaitable<void> TokenRegistry::refresh(bool force) {
  if (refreshing_) {
    co_await refreshed_.wait();  // the read in flight answers for this one too
    co_return;
  }
  const TimePoint now = clock_.now();
  if (!force && last_refresh_ && now >= *last_refresh_ &&
      now - *last_refresh_ < options_.refresh_interval) {
    co_return;
  }
  refreshing_ = true;
  last_refresh_ = now;
  std::function<Result<std::vector<store::TokenRecord>>(store::Store&)> read =
      [](store::Store& store) { return store.loadTokens(); };
  auto reading = readStore(commits_, std::move(read));
  auto loaded = co_await std::move(reading);
  refreshing_ = false;
  if (!loaded) {
    spdlog::warn("tokens: cannot re-read the store: {}", loaded.error().toString());
  } else {
    merge(std::move(*loaded));
  }
  refreshed_.notify();
}

// The read saw every write submitted before it, and its completion runs
// before the completion of any write submitted after it. So a token missing
// from `stored` but known here was deleted by another process (a token this
// server creates is added here only once its write completed), and one
// in `revoking_` is being deleted here.
void TokenRegistry::merge(std::vector<store::TokenRecord> stored) {
  std::set<std::string> ids;
  for (const auto& token : stored) ids.insert(token.id);
  std::vector<std::string> gone;
  for (const auto& [id, entry] : by_id_) {
    if (!ids.contains(id)) gone.push_back(id);
  }
  for (const auto& id : gone) {
    spdlog::info("tokens: token {} was deleted from the store: revoked", id);
    erase(id);
  }
  for (auto& token : stored) {
    if (by_id_.contains(token.id) || revoking_.contains(token.id)) continue;
    if (!token.name.empty() && (by_name_.contains(token.name) || creating_.contains(token.name))) {
      continue;
    }
    spdlog::info("tokens: token {} ({}) found in the store", token.id, token.role);
    add(std::move(token));
  }
}

void TokenRegistry::tick() {
  const TimePoint now = clock_.now();
  if (refreshing_ || (last_refresh_ && now >= *last_refresh_ &&
                      now - *last_refresh_ < options_.reconcile_interval)) {
    return;
  }
  asio::co_spawn(executor_, refresh(true), asio::detached);
}

asio::awaitable<std::optional<store::TokenRecord>> TokenRegistry::find(std::string id) {
  if (auto it = by_id_.find(id); it != by_id_.end()) co_return it->second.record;
  co_await refresh(false);
  if (auto it = by_id_.find(id); it != by_id_.end()) co_return it->second.record;
  co_return std::nullopt;
}

std::vector<store::TokenRecord> TokenRegistry::list() const {
  std::vector<store::TokenRecord> out;
  out.reserve(by_id_.size());
  for (const auto& [name, id] : by_name_) out.push_back(by_id_.at(id).record);
  for (const auto& [id, entry] : by_id_) {
    if (entry.record.name.empty()) out.push_back(entry.record);
  }
  return out;
}

asio::awaitable<Result<IssuedToken>> TokenRegistry::create(TokenSpec spec) {
  if (auto s = validateTokenSpec(spec); !s) co_return fail(s.error());
  co_await refresh(true);
  if (!spec.name.empty() && (by_name_.contains(spec.name) || creating_.contains(spec.name))) {
    co_return fail(Code::kAlreadyExists, "a token named \"" + spec.name + "\" exists", "name");
  }
  auto issued = issueToken(spec, clock_.now());
  // 48 random bits: a collision is rare, but never let one replace a token.
  for (int attempt = 0; issued && by_id_.contains(issued->record.id) && attempt < 8; ++attempt) {
    issued = issueToken(spec, clock_.now());
  }
  if (!issued) co_return fail(issued.error());
  if (by_id_.contains(issued->record.id)) {
    co_return fail(Code::kInternal, "could not draw an unused token id");
  }
  const std::string name = spec.name;
  if (!name.empty()) creating_.insert(name);
  auto committing = commit(commits_, {store::PutToken{issued->record}});
  auto committed = co_await std::move(committing);
  if (!name.empty()) creating_.erase(name);
  if (!committed) co_return fail(committed.error());
  add(issued->record);
  co_return std::move(*issued);
}

asio::awaitable<Result<store::TokenRecord>> TokenRegistry::revoke(std::string name) {
  std::string id;
  if (auto named = by_name_.find(name); named != by_name_.end()) {
    id = named->second;
  } else if (auto unnamed = by_id_.find(name);
             unnamed != by_id_.end() && unnamed->second.record.name.empty()) {
    id = unnamed->first;
  } else {
    co_return fail(Code::kNotFound, "no token named \"" + name.substr(0, 80) + "\"", "name");
  }
  Entry entry = by_id_.at(id);
  erase(id);
  revoking_.insert(id);
  auto committing = commit(commits_, {store::DeleteToken{id}});
  auto committed = co_await std::move(committing);
  revoking_.erase(id);
  if (!committed) {
    // Still in the store: keep it usable rather than pretend it is gone.
    const std::string& old_name = entry.record.name;
    if (!by_id_.contains(id) && (old_name.empty() || !by_name_.contains(old_name))) {
      if (!old_name.empty()) by_name_[old_name] = id;
      by_id_[id] = std::move(entry);
    }
    co_return fail(committed.error());
  }
  co_return std::move(entry.record);
}

bool TokenRegistry::claim(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second.record.used) return false;
  it->second.record.used = true;
  it->second.record.last_used_at = clock_.now();
  return true;
}

asio::awaitable<Status> TokenRegistry::persistUse(std::string id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) co_return fail(Code::kNotFound, "the token is gone");
  const TimePoint used_at = it->second.record.last_used_at.value_or(clock_.now());
  auto committing = commit(commits_, {store::TouchToken{id, used_at, true}});
  auto committed = co_await std::move(committing);
  if (committed) {
    if (auto again = by_id_.find(id); again != by_id_.end()) again->second.persisted_use = used_at;
  }
  co_return committed;
}

void TokenRegistry::touch(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  const TimePoint now = clock_.now();
  Entry& entry = it->second;
  entry.record.last_used_at = now;
  if (entry.persisted_use && now >= *entry.persisted_use &&
      now - *entry.persisted_use < options_.touch_interval) {
    return;
  }
  entry.persisted_use = now;
  commits_.submit(
      {store::TouchToken{id, now, entry.record.used}},
      [id](Status status) {
        if (!status) {
          spdlog::debug("tokens: last use of token {} not stored: {}", id,
                        status.error().toString());
        }
      },
      store::CommitQueue::Urgency::kBackground);
}

}  // namespace zp::server::auth
