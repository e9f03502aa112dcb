#include "limits/in_process_counter_store.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <iterator>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>

#include "limits/gcra.hpp"

namespace relay::limits {
namespace {

// A key with its hash, computed once per call: the shard is chosen by it, and the shard's map
// finds the entry by it without hashing the key again.
struct HashedKey {
  explicit HashedKey(std::string_view k) : text(k), hash(std::hash<std::string_view>{}(k)) {}
  std::string_view text;
  std::size_t hash;
};

// Transparent hashing lets a string_view or a HashedKey look up a std::string key without a
// copy; a key is only copied when an entry is created.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
  std::size_t operator()(const HashedKey& k) const noexcept { return k.hash; }
};
struct StringEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  bool operator()(const HashedKey& a, std::string_view b) const noexcept { return a.text == b; }
  bool operator()(std::string_view a, const HashedKey& b) const noexcept { return a == b.text; }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, StringEqual>;

// 16 shards: many more than io threads, so two threads rarely want the same lock unless they
// admit the same tenant (then they must serialise anyway).
constexpr std::size_t kShardCount = 16;
// Buckets visited per mutating call. With the map's load factor at most 1 this checks about as
// many entries, so the sweep passes over a whole map faster than new keys can fill it.
constexpr std::size_t kSweepBuckets = 4;

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

// A shard lock that spins briefly before it sleeps. Critical sections here last a few hundred
// ns, while putting a waiter to sleep and waking it costs several us in syscalls and wake-up
// latency: with a plain std::mutex two io threads admitting the same tenant pushed the
// admission p99 past the 20 us target (bench/README.md). The spin is bounded (a few us), so a
// waiter whose lock holder was preempted still goes to sleep instead of burning its core.
class ShardMutex {
 public:
  void lock() {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
      relax();
    }
    mu_.lock();
  }
  bool try_lock() { return mu_.try_lock(); }
  void unlock() { mu_.unlock(); }

 private:
  static constexpr int kSpins = 100;
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  std::mutex mu_;
};

struct LeaseSet {
  StringMap<std::int64_t> holders;  // lease_id -> expire_at_ms; live while expire_at_ms > now
  // A lower bound on the holders' expiries: while it is in the future nothing has expired and
  // prune() costs nothing. Renewals and releases may leave it too low, which only costs one
  // needless scan that then recomputes it.
  std::int64_t min_expire_ms = kNever;

  void prune(std::int64_t now_ms) {
    if (min_expire_ms > now_ms) return;
    std::int64_t min = kNever;
    for (auto it = holders.begin(); it != holders.end();) {
      if (it->second <= now_ms) {
        it = holders.erase(it);
      } else {
        min = std::min(min, it->second);
        ++it;
      }
    }
    min_expire_ms = min;
  }

  void put(std::string_view id, std::int64_t expire_ms, bool exists) {
    if (exists)
      holders.find(id)->second = expire_ms;
    else
      holders.emplace(std::string(id), expire_ms);
    min_expire_ms = std::min(min_expire_ms, expire_ms);
  }
};

struct Counter {
  std::int64_t value = 0;
  std::int64_t expire_at_ms = 0;  // 0: never

  bool expired(std::int64_t now_ms) const { return expire_at_ms != 0 && expire_at_ms <= now_ms; }
};

// Visits `budget` buckets from `cursor` on and erases the entries `expired` says are dead. The
// cursor survives rehashing (it is taken modulo the current bucket count), so every bucket is
// reached again after at most bucket_count / budget calls.
template <class Map, class Expired>
void sweep_buckets(Map& map, std::size_t& cursor, std::size_t budget, Expired expired) {
  if (map.empty()) return;
  const std::size_t buckets = map.bucket_count();
  for (std::size_t i = 0; i < budget; ++i) {
    cursor = (cursor + 1) % buckets;
    for (auto it = map.begin(cursor); it != map.end(cursor);) {
      auto cur = it++;  // step first: erasing invalidates only iterators to the erased node
      if (expired(cur->second)) map.erase(map.find(cur->first));
    }
  }
}

}  // namespace

struct alignas(64) InProcessCounterStore::Shard {
  mutable ShardMutex mu;
  StringMap<std::int64_t> rates;  // key -> TAT (us)
  StringMap<LeaseSet> leases;
  StringMap<Counter> counters;
  std::size_t rate_cursor = 0;
  std::size_t lease_cursor = 0;
  std::size_t counter_cursor = 0;
};

struct InProcessCounterStore::Shards {
  std::array<Shard, kShardCount> shard;
};

InProcessCounterStore::InProcessCounterStore() : shards_(std::make_unique<Shards>()) {}
InProcessCounterStore::~InProcessCounterStore() = default;

InProcessCounterStore::Shard& InProcessCounterStore::shard_at(std::size_t hash) const {
  return shards_->shard[hash % kShardCount];
}

RateResult InProcessCounterStore::rate_now(std::string_view key, std::int64_t limit,
                                           std::int64_t period_ms, std::int64_t burst,
                                           std::int64_t now_ms) {
  const HashedKey hk(key);
  Shard& s = shard_at(hk.hash);
  std::lock_guard lock(s.mu);
  auto it = s.rates.find(hk);
  // An absent key and one whose TAT has passed mean the same to gcra::decide.
  const gcra::Decision d =
      gcra::decide(it == s.rates.end() ? 0 : it->second, now_ms, limit, period_ms, burst);
  if (d.allowed && d.limit > 0) {
    if (it != s.rates.end())
      it->second = d.tat_us;
    else
      s.rates.emplace(std::string(key), d.tat_us);
  }
  const std::int64_t now_us = now_ms * 1000;
  sweep_buckets(s.rates, s.rate_cursor, kSweepBuckets,
                [now_us](std::int64_t tat_us) { return tat_us <= now_us; });
  return {d.allowed, d.limit, d.remaining, d.reset_ms, d.retry_after_ms};
}

RateResult InProcessCounterStore::peek_rate_now(std::string_view key, std::int64_t limit,
                                                std::int64_t period_ms, std::int64_t burst,
                                                std::int64_t now_ms) {
  const HashedKey hk(key);
  Shard& s = shard_at(hk.hash);
  std::int64_t tat_us = 0;
  {
    std::lock_guard lock(s.mu);
    auto it = s.rates.find(hk);
    if (it != s.rates.end()) tat_us = it->second;
  }
  const gcra::Decision d = gcra::decide(tat_us, now_ms, limit, period_ms, burst);
  const std::int64_t ahead_us = std::max<std::int64_t>(0, tat_us - now_ms * 1000);
  return {d.allowed, d.limit, d.allowed ? std::min(d.limit, d.remaining + 1) : 0,
          (ahead_us + 999) / 1000, d.retry_after_ms};
}

LeaseResult InProcessCounterStore::acquire_lease_now(std::string_view key,
                                                     std::string_view lease_id, std::int64_t max,
                                                     std::int64_t ttl_ms, std::int64_t now_ms) {
  const HashedKey hk(key);
  Shard& s = shard_at(hk.hash);
  std::lock_guard lock(s.mu);
  sweep_buckets(s.leases, s.lease_cursor, kSweepBuckets, [now_ms](LeaseSet& set) {
    set.prune(now_ms);
    return set.holders.empty();
  });
  auto it = s.leases.find(hk);
  if (it == s.leases.end()) it = s.leases.emplace(std::string(key), LeaseSet{}).first;
  LeaseSet& set = it->second;
  set.prune(now_ms);
  // Acquiring a lease already held (a retry of the same request) refreshes it; it never takes a
  // second slot, and it is never refused.
  const bool held = set.holders.find(lease_id) != set.holders.end();
  const auto live = static_cast<std::int64_t>(set.holders.size());
  LeaseResult r;
  r.acquired = held || max < 1 || live < max;
  if (r.acquired) set.put(lease_id, now_ms + ttl_ms, held);
  r.in_use = static_cast<std::int64_t>(set.holders.size());
  return r;
}

void InProcessCounterStore::renew_lease_now(std::string_view key, std::string_view lease_id,
                                            std::int64_t ttl_ms, std::int64_t now_ms) {
  const HashedKey hk(key);
  Shard& s = shard_at(hk.hash);
  std::lock_guard lock(s.mu);
  auto it = s.leases.find(hk);
  if (it == s.leases.end()) return;
  LeaseSet& set = it->second;
  // Prune first: a lease that has already expired has given its slot away and is not revived.
  set.prune(now_ms);
  if (set.holders.find(lease_id) != set.holders.end()) set.put(lease_id, now_ms + ttl_ms, true);
  if (set.holders.empty()) s.leases.erase(it);
}

void InProcessCounterStore::release_lease_now(std::string_view key, std::string_view lease_id) {
  const HashedKey hk(key);
  Shard& s = shard_at(hk.hash);
  std::lock_guard lock(s.mu);
  auto it = s.leases.find(hk);
  if (it == s.leases.end()) return;
  if (auto h = it->second.holders.find(lease_id); h != it->second.holders.end())
    it->second.holders.erase(h);
  if (it->second.holders.empty()) s.leases.erase(it);
}

std::int64_t InProcessCounterStore::read_counter_now(std::string_view key, std::int64_t now_ms) {
  const HashedKey hk(key);
  Shard& s = shard_at(hk.hash);
  std::lock_guard lock(s.mu);
  auto it = s.counters.find(hk);
  if (it == s.counters.end()) return 0;
  if (it->second.expired(now_ms)) {
    s.counters.erase(it);
    return 0;
  }
  return it->second.value;
}

std::int64_t InProcessCounterStore::add_counter_now(std::string_view key, std::int64_t delta,
                                                    std::int64_t expire_at_ms,
                                                    std::int64_t now_ms) {
  const HashedKey hk(key);
  Shard& s = shard_at(hk.hash);
  std::lock_guard lock(s.mu);
  sweep_buckets(s.counters, s.counter_cursor, kSweepBuckets,
                [now_ms](const Counter& c) { return c.expired(now_ms); });
  auto it = s.counters.find(hk);
  if (it == s.counters.end()) {
    s.counters.emplace(std::string(key), Counter{delta, expire_at_ms});
    return delta;
  }
  Counter& c = it->second;
  if (c.expired(now_ms)) {
    c = Counter{delta, expire_at_ms};  // a new period: the counter starts over
  } else {
    c.value += delta;
  }
  return c.value;
}

boost::asio::awaitable<RateResult> InProcessCounterStore::rate(std::string_view key,
                                                               std::int64_t limit,
                                                               std::int64_t period_ms,
                                                               std::int64_t burst,
                                                               std::int64_t now_ms) {
  co_return rate_now(key, limit, period_ms, burst, now_ms);
}

boost::asio::awaitable<RateResult> InProcessCounterStore::peek_rate(std::string_view key,
                                                                    std::int64_t limit,
                                                                    std::int64_t period_ms,
                                                                    std::int64_t burst,
                                                                    std::int64_t now_ms) {
  co_return peek_rate_now(key, limit, period_ms, burst, now_ms);
}

boost::asio::awaitable<LeaseResult> InProcessCounterStore::acquire_lease(std::string_view key,
                                                                         std::string_view lease_id,
                                                                         std::int64_t max,
                                                                         std::int64_t ttl_ms,
                                                                         std::int64_t now_ms) {
  co_return acquire_lease_now(key, lease_id, max, ttl_ms, now_ms);
}

boost::asio::awaitable<void> InProcessCounterStore::renew_lease(std::string_view key,
                                                                std::string_view lease_id,
                                                                std::int64_t ttl_ms,
                                                                std::int64_t now_ms) {
  renew_lease_now(key, lease_id, ttl_ms, now_ms);
  co_return;
}

boost::asio::awaitable<void> InProcessCounterStore::release_lease(std::string_view key,
                                                                  std::string_view lease_id) {
  release_lease_now(key, lease_id);
  co_return;
}

boost::asio::awaitable<std::int64_t> InProcessCounterStore::read_counter(std::string_view key,
                                                                         std::int64_t now_ms) {
  co_return read_counter_now(key, now_ms);
}

boost::asio::awaitable<std::int64_t> InProcessCounterStore::add_counter(std::string_view key,
                                                                        std::int64_t delta,
                                                                        std::int64_t expire_at_ms,
                                                                        std::int64_t now_ms) {
  co_return add_counter_now(key, delta, expire_at_ms, now_ms);
}

std::vector<CounterRow> InProcessCounterStore::dump(std::string_view prefix,
                                                    std::int64_t now_ms) const {
  std::vector<CounterRow> rows;
  for (const Shard& s : shards_->shard) {
    std::lock_guard lock(s.mu);
    rows.reserve(rows.size() + s.counters.size());
    for (const auto& [key, c] : s.counters)
      if (!c.expired(now_ms) && std::string_view(key).starts_with(prefix))
        rows.push_back({key, c.value, c.expire_at_ms});
  }
  std::sort(rows.begin(), rows.end(),
            [](const CounterRow& a, const CounterRow& b) { return a.key < b.key; });
  return rows;
}

void InProcessCounterStore::load(const std::vector<CounterRow>& rows) {
  for (const CounterRow& row : rows) {
    Shard& s = shard_at(StringHash{}(row.key));
    std::lock_guard lock(s.mu);
    s.counters.insert_or_assign(row.key, Counter{row.value, row.expire_at_ms});
  }
}

void InProcessCounterStore::sweep(std::int64_t now_ms) {
  const std::int64_t now_us = now_ms * 1000;
  for (Shard& s : shards_->shard) {
    std::lock_guard lock(s.mu);
    std::erase_if(s.rates, [now_us](const auto& e) { return e.second <= now_us; });
    for (auto it = s.leases.begin(); it != s.leases.end();) {
      it->second.prune(now_ms);
      it = it->second.holders.empty() ? s.leases.erase(it) : std::next(it);
    }
    std::erase_if(s.counters, [now_ms](const auto& e) { return e.second.expired(now_ms); });
  }
}

std::size_t InProcessCounterStore::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_->shard) {
    std::lock_guard lock(s.mu);
    n += s.rates.size() + s.leases.size() + s.counters.size();
  }
  return n;
}

}  // namespace relay::limits
