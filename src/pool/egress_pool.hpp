#pragma once
// Which egress (forward proxy) an attempt leaves through, and what each egress's attempts and
// probes say about it. Shared by every io thread; each method holds one mutex briefly.
//
// Rules (docs/egress.md):
//   - An account without egresses goes direct; one with egresses never does.
//   - Choice among an account's egresses: by health first (an egress that failed is skipped
//     until a probe or a request through it succeeds, or `down_retry` passes), then by region
//     (this node's region first), then the least used, so that traffic spreads over them.
//   - An egress fails when an attempt through it gets no response head for any reason but the
//     provider's slowness (relay/failover.cpp), or when its probe fails. That says nothing about
//     the account, whose health is left alone.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/snapshot.hpp"

namespace relay::pool {

struct EgressRoute {
  std::int64_t id = 0;
  std::string name;
  std::string proxy;    // for CURLOPT_PROXY (may hold credentials: never log it)
  std::string ca_file;  // for CURLOPT_PROXY_CAINFO
};

struct EgressStatus {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::string name;
  std::string account_name;
  bool up = true;
  std::string last_error;  // why it went down; "" when up
  std::chrono::system_clock::time_point changed_at;
};

class EgressPool {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  EgressPool(std::string region, std::chrono::milliseconds down_retry);
  ~EgressPool();

  const std::string& region() const { return region_; }

  // Learns the snapshot's egresses; forgets removed ones. A new egress starts up.
  void sync(const store::Snapshot& snapshot);

  // An egress of `account` for one attempt, skipping the ids in `exclude`. nullopt when the
  // account has egresses but none can be used now (the caller treats it as unavailable); for
  // an account without egresses, an empty route (id 0): go direct.
  std::optional<EgressRoute> choose(const store::SnapshotAccount& account,
                                    std::span<const std::int64_t> exclude, TimePoint now);
  // False when the account has egresses and every one is down.
  bool usable(const store::SnapshotAccount& account, TimePoint now) const;

  void record(std::int64_t egress_id, bool ok, std::string_view error);

  std::vector<EgressStatus> status() const;
  // Accounts with egresses of which none can be used now (their health shows
  // egress_unavailable).
  std::vector<std::int64_t> unavailable_accounts(TimePoint now) const;

 private:
  struct State;
  bool candidate(const State& s, TimePoint now) const;

  std::string region_;
  std::chrono::milliseconds down_retry_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, std::unique_ptr<State>> states_;
};

}  // namespace relay::pool
