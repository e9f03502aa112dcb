#include "pool/account_pool.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_set>
#include <utility>

#include "base/unix_time.hpp"

namespace relay::pool {

struct AccountPool::Entry {
  explicit Entry(const PoolConfig& cfg) : health(cfg) {}
  std::string name;
  AccountHealth health;
  HealthState reported = HealthState::kHealthy;  // last state written to changes_
  int in_flight = 0;
  std::int64_t requests = 0;
  std::int64_t input_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t enabled_at = 0;  // as of the last snapshot seen
  bool config_enabled = true;
  std::optional<SharedVerdict> own;  // what local_verdicts() gives while it stands
  std::int64_t healed_at = 0;        // unix ms: this node last saw the account heal
};

namespace {

// Undrained changes must not grow without bound: past this, the oldest half goes.
constexpr std::size_t kMaxChanges = 10'000;

std::uint64_t xorshift(std::uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

std::int64_t to_unix_ms(TimePoint t, TimePoint now) {
  using namespace std::chrono;
  auto wall = system_clock::now() + duration_cast<system_clock::duration>(t - now);
  return duration_cast<milliseconds>(wall.time_since_epoch()).count();
}

// Exact to the microsecond, so a window keeps its end (in ms) from node to node.
TimePoint from_unix_ms(std::int64_t ms, TimePoint now) {
  using namespace std::chrono;
  const auto wall = system_clock::now().time_since_epoch();
  return now + duration_cast<Clock::duration>(milliseconds(ms) - wall);
}

struct Candidate {
  const store::SnapshotAccount* account;
  double score;
  int in_flight;
};

std::int64_t weight_of(const Candidate& c) {
  return std::max(c.account->weight, 0);
}

// A random index drawn by weight, skipping `skip`; -1 when the rest weigh nothing.
int weighted_draw(const std::vector<Candidate>& cs, int skip, std::uint64_t& rng) {
  std::int64_t total = 0;
  for (int i = 0; i < static_cast<int>(cs.size()); ++i)
    if (i != skip) total += weight_of(cs[i]);
  if (total == 0) return -1;
  auto r = static_cast<std::int64_t>(xorshift(rng) % static_cast<std::uint64_t>(total));
  for (int i = 0; i < static_cast<int>(cs.size()); ++i) {
    if (i == skip) continue;
    if (r < weight_of(cs[i])) return i;
    r -= weight_of(cs[i]);
  }
  return -1;
}

// Power of two choices. Scores within 10 % of each other count as equal, so that small
// latency noise does not send all traffic to one account and weights keep deciding the
// shares; equal ones go to the lighter load per unit of weight, then to the first drawn.
int power_of_two(const std::vector<Candidate>& cs, std::uint64_t& rng) {
  if (cs.empty()) return -1;
  int a = weighted_draw(cs, -1, rng);
  if (a < 0) a = static_cast<int>(xorshift(rng) % cs.size());  // all weights 0: uniform
  int b = weighted_draw(cs, a, rng);
  if (b < 0) return a;
  const Candidate &x = cs[a], &y = cs[b];
  if (std::abs(x.score - y.score) > 0.1 * std::max(x.score, y.score))
    return x.score > y.score ? a : b;
  const std::int64_t load_x = std::int64_t{x.in_flight} * std::max<std::int64_t>(weight_of(y), 1);
  const std::int64_t load_y = std::int64_t{y.in_flight} * std::max<std::int64_t>(weight_of(x), 1);
  return load_y < load_x ? b : a;
}

// Why nothing could serve: all_rate_limited when every account that would serve is cooling
// on a 429, and retry_after (whenever one is cooling) until the soonest window ends.
void explain_no_account(Selection& sel, const std::vector<const AccountHealth*>& unavailable,
                        TimePoint now) {
  bool all_rate_limited = !unavailable.empty();
  std::optional<TimePoint> soonest;
  for (const AccountHealth* h : unavailable) {
    const bool cooling = h->state(now) == HealthState::kCooling;
    if (cooling && (!soonest || h->cooling_until() < *soonest)) soonest = h->cooling_until();
    if (!cooling || h->last_failure() != FailureClass::kRateLimited) all_rate_limited = false;
  }
  sel.all_rate_limited = all_rate_limited;
  if (soonest) {
    // Whole seconds, rounded up: clients read Retry-After in seconds and must not come early.
    auto secs = std::chrono::ceil<std::chrono::seconds>(*soonest - now);
    sel.retry_after = std::max(Millis{std::chrono::seconds{1}}, Millis{secs});
  }
}

}  // namespace

Lease& Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = o.pool_;
    account_id_ = o.account_id_;
    o.pool_ = nullptr;
  }
  return *this;
}

void Lease::release() {
  if (auto* p = pool_) {
    pool_ = nullptr;
    p->release(account_id_);
  }
}

AccountPool::AccountPool(PoolConfig cfg)
    : cfg_(std::move(cfg)), affinity_(cfg_.affinity_ttl, cfg_.affinity_max_entries) {
  rng_state_ = (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  if (rng_state_ == 0) rng_state_ = 0x9e3779b97f4a7c15ULL;  // xorshift's one fixed point
}

AccountPool::~AccountPool() = default;

AccountPool::Entry& AccountPool::entry_for(const store::SnapshotAccount& a, TimePoint now) {
  auto& slot = accounts_[a.id];
  if (!slot) {
    slot = std::make_unique<Entry>(cfg_);
    slot->enabled_at = a.enabled_at;
  }
  Entry& e = *slot;
  if (e.name != a.name) e.name = a.name;
  e.config_enabled = a.enabled;
  if (a.enabled_at > e.enabled_at) {
    e.enabled_at = a.enabled_at;
    e.health.enable(now);
    e.own.reset();
    observe(a.id, e, now, FailureClass::kNone, "operator_enable");
  }
  return e;
}

void AccountPool::observe(std::int64_t id, Entry& e, TimePoint now, FailureClass cause,
                          std::string note) {
  const HealthState s = e.health.state(now);
  if (s == e.reported) return;
  // A window that ended unobserved is dated when it ended, not when someone looked.
  const bool window_over = e.reported == HealthState::kCooling && s == HealthState::kHalfOpen;
  const TimePoint at = window_over ? e.health.cooling_until() : now;
  if (changes_.size() >= kMaxChanges)
    changes_.erase(changes_.begin(), changes_.begin() + kMaxChanges / 2);
  changes_.push_back({id, e.name, e.reported, s, cause, std::move(note), to_unix_ms(at, now)});
  e.reported = s;
}

void AccountPool::sync(const store::Snapshot& snapshot, TimePoint now) {
  std::lock_guard lock(mu_);
  std::unordered_set<std::int64_t> seen;
  for (const auto& a : snapshot.accounts) {
    entry_for(a, now);
    seen.insert(a.id);
  }
  std::erase_if(accounts_, [&](const auto& kv) { return !seen.contains(kv.first); });
  synced_version_ = snapshot.version;
}

Selection AccountPool::select(const store::Snapshot& snapshot, std::string_view model,
                              std::string_view affinity_key,
                              const std::vector<std::int64_t>& exclude, TimePoint now) {
  std::lock_guard lock(mu_);
  // A request may hold a snapshot older than the last sync; it must not bring back accounts
  // removed since, nor undo newer settings. A newer one (published before its sync) may add.
  const bool current = snapshot.version >= synced_version_;
  std::optional<std::int64_t> bound;
  if (!affinity_key.empty()) bound = affinity_.get(affinity_key, now);

  std::vector<Candidate> cands;
  std::vector<const AccountHealth*> unavailable;  // could serve this request, but not now
  int bound_index = -1;
  bool keep_binding = false;  // the bound account is fine, just not usable for this request
  for (const auto& a : snapshot.accounts) {
    auto it = accounts_.find(a.id);
    Entry* e = current ? &entry_for(a, now) : it != accounts_.end() ? it->second.get() : nullptr;
    if (!e) continue;
    observe(a.id, *e, now, FailureClass::kNone, "window_over");
    const bool admits = a.enabled && e->health.admits(now);
    if (bound && a.id == *bound) keep_binding = admits;  // busy, excluded or another model
    if (!a.enabled || !a.serves(model) || std::ranges::count(exclude, a.id)) continue;
    if (!admits || (a.max_concurrency > 0 && e->in_flight >= a.max_concurrency)) {
      unavailable.push_back(&e->health);
      continue;
    }
    if (bound && a.id == *bound) bound_index = static_cast<int>(cands.size());
    cands.push_back({&a, e->health.score(now), e->in_flight});
  }

  Selection sel;
  const int pick = bound_index >= 0 ? bound_index : power_of_two(cands, rng_state_);
  if (pick < 0) {
    explain_no_account(sel, unavailable, now);
    return sel;
  }
  const store::SnapshotAccount* chosen = cands[pick].account;
  Entry& e = *accounts_.at(chosen->id);
  if (e.health.state(now) == HealthState::kHalfOpen) {
    e.health.begin_probe(now);
    sel.probe = true;
  }
  ++e.in_flight;
  // Bind a new conversation, and move one whose account cooled, was disabled or went away;
  // a busy account keeps its conversations.
  if (!affinity_key.empty() && bound_index < 0 && !keep_binding)
    affinity_.bind(affinity_key, chosen->id, now);
  sel.account = chosen;
  sel.lease = Lease(this, chosen->id);
  return sel;
}

void AccountPool::record(std::int64_t account_id, const AttemptOutcome& outcome, TimePoint now) {
  std::lock_guard lock(mu_);
  record_locked(account_id, outcome, now, false);
}

void AccountPool::forgo(std::int64_t account_id) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it != accounts_.end()) it->second->health.cancel_probe();
}

void AccountPool::record_probe(std::int64_t account_id, const AttemptOutcome& outcome,
                               TimePoint now) {
  std::lock_guard lock(mu_);
  AttemptOutcome o = outcome;
  if (o.failure == FailureClass::kClientError) o.failure = FailureClass::kNone;
  record_locked(account_id, o, now, true);
}

void AccountPool::record_locked(std::int64_t id, const AttemptOutcome& outcome, TimePoint now,
                                bool probe) {
  auto it = accounts_.find(id);
  if (it == accounts_.end()) return;
  Entry& e = *it->second;
  observe(id, e, now, FailureClass::kNone, "window_over");
  const HealthState before = e.health.state(now);
  const TimePoint until_before = e.health.cooling_until();
  e.health.record(outcome, now);
  if (!probe) ++e.requests;
  const HealthState after = e.health.state(now);
  if (after != before || e.health.cooling_until() != until_before) {
    // Computed once, so that the verdict reads the same on every local_verdicts() call.
    const std::int64_t wall = unix_now_ms();
    e.own.reset();
    if (after == HealthState::kCooling)
      e.own =
          SharedVerdict{after, to_unix_ms(e.health.cooling_until(), now), outcome.failure, wall};
    else if (after == HealthState::kDisabled)
      e.own = SharedVerdict{after, 0, outcome.failure, wall};
    else if (after == HealthState::kHealthy)
      e.healed_at = wall;
  }
  // A success can only move an account to healthy, and only as a probe's result.
  observe(id, e, now, outcome.failure, outcome.failure == FailureClass::kNone ? "probe_ok" : "");
}

void AccountPool::record_usage(std::int64_t account_id, std::int64_t input_tokens,
                               std::int64_t cached_tokens) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return;
  it->second->input_tokens += input_tokens;
  it->second->cached_tokens += cached_tokens;
}

std::vector<std::int64_t> AccountPool::due_for_probe(TimePoint now) {
  std::lock_guard lock(mu_);
  std::vector<std::int64_t> due;
  for (auto& [id, e] : accounts_) {
    if (!e->config_enabled || e->health.probe_in_flight()) continue;
    observe(id, *e, now, FailureClass::kNone, "window_over");
    const HealthState s = e->health.state(now);
    if (s == HealthState::kHalfOpen || (s == HealthState::kDisabled && cfg_.probe_disabled)) {
      e->health.begin_probe(now);
      due.push_back(id);
    }
  }
  std::sort(due.begin(), due.end());
  return due;
}

bool AccountPool::adopt_shared(std::int64_t account_id, const SharedVerdict& v, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return false;
  Entry& e = *it->second;
  if (v.at_unix_ms <= std::max(e.enabled_at, e.healed_at)) return false;
  observe(account_id, e, now, FailureClass::kNone, "window_over");
  const HealthState s = e.health.state(now);
  if (s == HealthState::kDisabled) return false;
  if (v.state == HealthState::kDisabled) {
    e.health.adopt_disable(v.cause);
  } else if (v.state == HealthState::kCooling) {
    const TimePoint until = from_unix_ms(v.until_unix_ms, now);
    if (until <= now) return false;
    if (s == HealthState::kCooling && until <= e.health.cooling_until() + Millis{1}) return false;
    e.health.adopt_cooling(until, Millis{v.until_unix_ms - v.at_unix_ms}, v.cause);
  } else {
    return false;
  }
  e.own.reset();  // superseded: the shared one is stronger
  observe(account_id, e, now, v.cause, "shared");
  return true;
}

std::vector<std::pair<std::int64_t, SharedVerdict>> AccountPool::local_verdicts(
    TimePoint now) const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::int64_t, SharedVerdict>> out;
  for (const auto& [id, e] : accounts_)
    if (e->own && e->health.state(now) == e->own->state) out.emplace_back(id, *e->own);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::vector<AccountStatus> AccountPool::status(TimePoint now) const {
  std::lock_guard lock(mu_);
  std::vector<AccountStatus> out;
  out.reserve(accounts_.size());
  for (const auto& [id, e] : accounts_) {
    const HealthState s = e->health.state(now);
    out.push_back(
        {id, e->name, s, e->health.score(now), e->health.error_rate(now), e->health.ttfb_ms(),
         s == HealthState::kCooling ? to_unix_ms(e->health.cooling_until(), now) : 0, e->in_flight,
         e->requests, e->input_tokens, e->cached_tokens, e->health.last_failure()});
  }
  std::sort(out.begin(), out.end(), [](const AccountStatus& a, const AccountStatus& b) {
    return a.name != b.name ? a.name < b.name : a.id < b.id;
  });
  return out;
}

std::vector<StateChange> AccountPool::take_changes() {
  std::lock_guard lock(mu_);
  return std::exchange(changes_, {});
}

void AccountPool::release(std::int64_t account_id) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it != accounts_.end() && it->second->in_flight > 0) --it->second->in_flight;
}

}  // namespace relay::pool
