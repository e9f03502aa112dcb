#include "pool/egress_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

namespace relay::pool {

struct EgressPool::State {
  std::int64_t account_id = 0;
  std::string name;
  std::string account_name;
  bool up = true;
  TimePoint down_at{};
  std::string last_error;
  std::chrono::system_clock::time_point changed_at = std::chrono::system_clock::now();
  std::uint64_t picks = 0;
};

EgressPool::EgressPool(std::string region, std::chrono::milliseconds down_retry)
    : region_(std::move(region)), down_retry_(down_retry) {}

EgressPool::~EgressPool() = default;

void EgressPool::sync(const store::Snapshot& snapshot) {
  std::lock_guard lock(mu_);
  std::unordered_map<std::int64_t, std::unique_ptr<State>> next;
  for (const auto& a : snapshot.accounts)
    for (const auto& e : a.egresses) {
      auto it = states_.find(e.id);
      auto s = it != states_.end() ? std::move(it->second) : std::make_unique<State>();
      s->account_id = a.id;
      s->name = e.name;
      s->account_name = a.name;
      next.emplace(e.id, std::move(s));
    }
  states_ = std::move(next);
}

bool EgressPool::candidate(const State& s, TimePoint now) const {
  return s.up || now - s.down_at >= down_retry_;
}

std::optional<EgressRoute> EgressPool::choose(const store::SnapshotAccount& account,
                                              std::span<const std::int64_t> exclude,
                                              TimePoint now) {
  if (account.egresses.empty()) return EgressRoute{};
  std::lock_guard lock(mu_);
  const store::SnapshotEgress* best = nullptr;
  State* best_state = nullptr;
  // Rank: up before due-for-retry, this region before others, then the least picked.
  auto rank = [&](const store::SnapshotEgress& e, const State& s) {
    return std::tuple(s.up ? 0 : 1, !region_.empty() && e.region == region_ ? 0 : 1, s.picks);
  };
  for (const auto& e : account.egresses) {
    if (std::find(exclude.begin(), exclude.end(), e.id) != exclude.end()) continue;
    auto it = states_.find(e.id);
    if (it == states_.end() || !candidate(*it->second, now)) continue;
    if (!best || rank(e, *it->second) < rank(*best, *best_state)) {
      best = &e;
      best_state = it->second.get();
    }
  }
  if (!best) return std::nullopt;
  ++best_state->picks;
  return EgressRoute{best->id, best->name, best->url, best->ca_file};
}

bool EgressPool::usable(const store::SnapshotAccount& account, TimePoint now) const {
  if (account.egresses.empty()) return true;
  std::lock_guard lock(mu_);
  for (const auto& e : account.egresses) {
    auto it = states_.find(e.id);
    if (it != states_.end() && candidate(*it->second, now)) return true;
  }
  return false;
}

void EgressPool::record(std::int64_t egress_id, bool ok, std::string_view error) {
  std::lock_guard lock(mu_);
  auto it = states_.find(egress_id);
  if (it == states_.end()) return;
  State& s = *it->second;
  if (ok) {
    if (s.up) return;
    spdlog::info("egress {} (account {}) is up again", s.name, s.account_name);
    s.up = true;
    s.last_error.clear();
    s.changed_at = std::chrono::system_clock::now();
    return;
  }
  // A down egress is retried after down_retry_; each failure restarts that wait.
  s.down_at = Clock::now();
  if (s.up) {
    spdlog::warn("egress {} (account {}) is down: {}", s.name, s.account_name, error);
    s.up = false;
    s.changed_at = std::chrono::system_clock::now();
  }
  s.last_error = std::string(error);
}

std::vector<EgressStatus> EgressPool::status() const {
  std::lock_guard lock(mu_);
  std::vector<EgressStatus> out;
  out.reserve(states_.size());
  for (const auto& [id, s] : states_)
    out.push_back(
        {id, s->account_id, s->name, s->account_name, s->up, s->last_error, s->changed_at});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace relay::pool

namespace relay::pool {

std::vector<std::int64_t> EgressPool::unavailable_accounts(TimePoint now) const {
  std::lock_guard lock(mu_);
  std::unordered_map<std::int64_t, bool> any_usable;
  for (const auto& [id, s] : states_) any_usable[s->account_id] |= candidate(*s, now);
  std::vector<std::int64_t> out;
  for (const auto& [account, usable] : any_usable)
    if (!usable) out.push_back(account);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace relay::pool
