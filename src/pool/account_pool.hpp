#pragma once
// The pool of upstream accounts, shared by every io thread: which account serves a request
// (health score, weight, concurrency, conversation affinity), and what each attempt did to
// that account's health. All methods are thread-safe; each holds one mutex briefly.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pool/account_health.hpp"
#include "pool/affinity.hpp"
#include "store/snapshot.hpp"

namespace relay::pool {

class AccountPool;

// A concurrency slot on one account; releasing it (destructor) frees the slot.
class Lease {
 public:
  Lease() = default;
  Lease(AccountPool* pool, std::int64_t account_id) : pool_(pool), account_id_(account_id) {}
  Lease(Lease&& o) noexcept : pool_(o.pool_), account_id_(o.account_id_) { o.pool_ = nullptr; }
  Lease& operator=(Lease&& o) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { release(); }
  void release();
  std::int64_t account_id() const { return account_id_; }
  explicit operator bool() const { return pool_ != nullptr; }

 private:
  AccountPool* pool_ = nullptr;
  std::int64_t account_id_ = 0;
};

struct Selection {
  const store::SnapshotAccount* account = nullptr;  // from the snapshot passed to select()
  Lease lease;
  bool probe = false;  // a half-open account's single trial request
  // When account is null:
  bool all_rate_limited = false;      // every account that serves the model is cooling on 429
  std::optional<Millis> retry_after;  // then: time until the soonest one reopens
};

struct AccountStatus {
  std::int64_t id = 0;
  std::string name;
  HealthState state = HealthState::kHealthy;
  double score = 0;
  double error_rate = 0;
  double ttfb_ms = 0;
  std::int64_t cooling_until_unix_ms = 0;  // 0 when not cooling
  int in_flight = 0;
  std::int64_t requests = 0;
  std::int64_t input_tokens = 0;
  std::int64_t cached_tokens = 0;
  FailureClass last_failure = FailureClass::kNone;
};

struct StateChange {
  std::int64_t account_id = 0;
  std::string account_name;
  HealthState from = HealthState::kHealthy;
  HealthState to = HealthState::kHealthy;
  FailureClass cause = FailureClass::kNone;
  // Set when no failure caused it: "operator_enable", "probe_ok" (a success healed it),
  // "window_over" (cooling reached half-open); and "shared" when another node's verdict was
  // adopted (cause is then that node's failure class).
  std::string note;
  std::int64_t at_unix_ms = 0;
};

// One node's verdict on an account, as the nodes of a cluster share it (app/shared_health.hpp).
// Wall-clock times: steady_clock means nothing to another process.
struct SharedVerdict {
  HealthState state = HealthState::kCooling;  // kCooling or kDisabled
  std::int64_t until_unix_ms = 0;             // kCooling: when the window ends
  FailureClass cause = FailureClass::kNone;
  std::int64_t at_unix_ms = 0;  // when the node reached it
  bool operator==(const SharedVerdict&) const = default;
};

class AccountPool {
 public:
  explicit AccountPool(PoolConfig cfg);
  ~AccountPool();  // out of line: Entry is complete only in the .cpp

  // Brings the pool in line with a new config snapshot: new accounts start healthy, removed
  // ones are forgotten, and an account the operator (re-)enabled leaves `disabled`.
  void sync(const store::Snapshot& snapshot, TimePoint now);

  // Picks an account for `model`, skipping the ids in `exclude` (already tried). Affinity:
  // a known `affinity_key` (session-id, else prompt_cache_key) goes back to its account while
  // that account admits traffic; otherwise the key is bound to the account picked now.
  // Among the rest: two random candidates weighted by `weight`, the better score wins
  // (power of two choices), never past an account's max_concurrency.
  Selection select(const store::Snapshot& snapshot, std::string_view model,
                   std::string_view affinity_key, const std::vector<std::int64_t>& exclude,
                   TimePoint now);

  // What an attempt did. Usage feeds the per-account cache hit rate.
  void record(std::int64_t account_id, const AttemptOutcome& outcome, TimePoint now);
  // The attempt selected for this account never reached it (no working egress, or the egress
  // failed): no verdict on its health, and a half-open trial it held is given back.
  void forgo(std::int64_t account_id);
  void record_usage(std::int64_t account_id, std::int64_t input_tokens, std::int64_t cached_tokens);

  // The background prober's result for an account due_for_probe() returned. Unlike record()
  // it is not counted as a request, and a 4xx about the probe request itself (say, 404 where a
  // provider has no /v1/models) counts as success: the account answered and took the key.
  void record_probe(std::int64_t account_id, const AttemptOutcome& outcome, TimePoint now);

  // Accounts the background prober should try now: half-open ones with no request in flight,
  // and (when cfg.probe_disabled) disabled ones. Marks each as probing.
  std::vector<std::int64_t> due_for_probe(TimePoint now);

  // Adopts another node's verdict when it is stronger than this node's view: a cooling window
  // that ends later (more than 1 ms, the rounding of wall-clock ms) than the local one, on an
  // account that is not disabled; a disable of an account that is not. Either only when it
  // was reached after the account's last operator enable (snapshot enabled_at) and after this
  // node last saw the account heal, so neither an enable nor a node's own proof is undone by an
  // older verdict. Ended windows and unknown accounts are ignored. True when adopted.
  bool adopt_shared(std::int64_t account_id, const SharedVerdict& v, TimePoint now);
  // The verdicts this node reached from its own requests and probes that still stand (a window
  // not over, a disable not lifted), by account id. Adopted ones are not in it, so that they do
  // not travel back and forth between nodes. Each verdict's values stay the same while it
  // stands, so a publisher can tell a new one from one it already sent.
  std::vector<std::pair<std::int64_t, SharedVerdict>> local_verdicts(TimePoint now) const;

  std::vector<AccountStatus> status(TimePoint now) const;
  // State transitions since the last call, oldest first (written to the store as events).
  std::vector<StateChange> take_changes();

  const PoolConfig& config() const { return cfg_; }

 private:
  friend class Lease;
  void release(std::int64_t account_id);

  struct Entry;
  // The entry for a snapshot account, created on first sight; applies an operator enable.
  Entry& entry_for(const store::SnapshotAccount& account, TimePoint now);
  // Queues a StateChange when the entry's state at `now` differs from the last one reported.
  void observe(std::int64_t id, Entry& e, TimePoint now, FailureClass cause, std::string note);
  void record_locked(std::int64_t id, const AttemptOutcome& outcome, TimePoint now, bool probe);
  PoolConfig cfg_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, std::unique_ptr<Entry>> accounts_;
  Affinity affinity_;
  std::vector<StateChange> changes_;
  std::uint64_t rng_state_;
  std::uint64_t synced_version_ = 0;  // snapshot version of the last sync()
};

}  // namespace relay::pool
