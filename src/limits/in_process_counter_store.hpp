#pragma once
// The embedded CounterStore: everything in this process's memory, shared by all io threads.
// Every call completes at once (the awaitables never suspend). Rate limits use the GCRA math of
// gcra.hpp, the same as any other backend.
//
// Thread safety: keys are spread over a fixed number of shards, each with its own mutex, so io
// threads admitting different tenants rarely meet; one call holds one shard's lock briefly and
// never while suspended.
//
// Memory: an expired entry (a TAT in the past, a lease set whose leases all expired, a counter
// past its expiry) means the same as an absent one. Entries are dropped lazily when touched, and
// each mutating call also sweeps a few hash buckets of its shard, so over time every bucket is
// visited and the size tracks the live set rather than everything ever seen. sweep() drops all
// expired entries at once (for an idle-time timer, or tests).
//
// Quota counters are lost with the process; dump()/load() let serve persist them (for example to
// SQLite at shutdown and periodically) and restore them after a restart. Rate TATs and leases are
// not persisted: both lapse within seconds, which a restart takes anyway.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "limits/counter_store.hpp"

namespace relay::limits {

class InProcessCounterStore final : public CounterStore, public ImmediateCounterStore {
 public:
  InProcessCounterStore();
  ~InProcessCounterStore() override;
  InProcessCounterStore(const InProcessCounterStore&) = delete;
  InProcessCounterStore& operator=(const InProcessCounterStore&) = delete;

  boost::asio::awaitable<RateResult> rate(std::string_view key, std::int64_t limit,
                                          std::int64_t period_ms, std::int64_t burst,
                                          std::int64_t now_ms) override;
  boost::asio::awaitable<LeaseResult> acquire_lease(std::string_view key, std::string_view lease_id,
                                                    std::int64_t max, std::int64_t ttl_ms,
                                                    std::int64_t now_ms) override;
  boost::asio::awaitable<void> renew_lease(std::string_view key, std::string_view lease_id,
                                           std::int64_t ttl_ms, std::int64_t now_ms) override;
  boost::asio::awaitable<void> release_lease(std::string_view key,
                                             std::string_view lease_id) override;
  boost::asio::awaitable<std::int64_t> read_counter(std::string_view key,
                                                    std::int64_t now_ms) override;
  boost::asio::awaitable<std::int64_t> add_counter(std::string_view key, std::int64_t delta,
                                                   std::int64_t expire_at_ms,
                                                   std::int64_t now_ms) override;

  ImmediateCounterStore* immediate() override { return this; }

  // Synchronous forms of the calls above, for callers that are not coroutines (the CLI's
  // `tenant show`, benchmarks comparing the awaitable overhead) and the admit phase.
  boost::asio::awaitable<RateResult> peek_rate(std::string_view key, std::int64_t limit,
                                               std::int64_t period_ms, std::int64_t burst,
                                               std::int64_t now_ms) override;
  RateResult peek_rate_now(std::string_view key, std::int64_t limit, std::int64_t period_ms,
                           std::int64_t burst, std::int64_t now_ms) override;
  RateResult rate_now(std::string_view key, std::int64_t limit, std::int64_t period_ms,
                      std::int64_t burst, std::int64_t now_ms) override;
  LeaseResult acquire_lease_now(std::string_view key, std::string_view lease_id, std::int64_t max,
                                std::int64_t ttl_ms, std::int64_t now_ms) override;
  void renew_lease_now(std::string_view key, std::string_view lease_id, std::int64_t ttl_ms,
                       std::int64_t now_ms);
  void release_lease_now(std::string_view key, std::string_view lease_id) override;
  std::int64_t read_counter_now(std::string_view key, std::int64_t now_ms) override;
  std::int64_t add_counter_now(std::string_view key, std::int64_t delta, std::int64_t expire_at_ms,
                               std::int64_t now_ms) override;

  // The live quota counters whose key starts with `prefix` (e.g. "usage:"), sorted by key.
  std::vector<CounterRow> dump(std::string_view prefix, std::int64_t now_ms) const;
  // Sets each row's counter (value and expiry), replacing what is there. Rows already expired
  // are kept until touched or swept, like any other expired entry.
  void load(const std::vector<CounterRow>& rows);

  // Drops every expired entry now.
  void sweep(std::int64_t now_ms);
  // Entries held (rate keys + lease keys + counters), expired ones not yet dropped included.
  std::size_t size() const;

 private:
  struct Shard;
  struct Shards;
  Shard& shard_at(std::size_t key_hash) const;  // the shard of a key with this hash

  std::unique_ptr<Shards> shards_;
};

}  // namespace relay::limits
