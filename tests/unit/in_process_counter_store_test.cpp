// The in-process CounterStore: the shared contract suite, then what only this backend promises:
// thread safety across io threads, bounded memory, and dump/load of quota counters.
#include "limits/in_process_counter_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "counter_store_suite.hpp"

namespace relay::limits {
namespace {

struct InProcessBackend {
  static std::unique_ptr<CounterStore> make(boost::asio::io_context& /*io*/) {
    return std::make_unique<InProcessCounterStore>();
  }
};

}  // namespace

namespace test {
INSTANTIATE_TYPED_TEST_SUITE_P(InProcess, CounterStoreSuite, ::testing::Types<InProcessBackend>);
}  // namespace test

namespace {

constexpr std::int64_t kT0 = 1'764'000'000'000;  // a fixed unix-ms instant

// Runs `body(thread_index)` on two threads at once, released together.
template <class Body>
void on_two_threads(Body body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      body(t);
    });
  }
  for (auto& th : threads) th.join();
}

TEST(InProcessCounterStoreTest, ConcurrentAddsFromTwoThreadsSumExactly) {
  InProcessCounterStore store;
  // Tight loops on one key, so the two threads really do meet in the critical section.
  constexpr int kAdds = 200'000;
  on_two_threads([&](int) {
    for (int i = 0; i < kAdds; ++i) store.add_counter_now("usage:t:d:requests", 1, 0, kT0);
  });
  EXPECT_EQ(store.read_counter_now("usage:t:d:requests", kT0), 2 * kAdds);
}

TEST(InProcessCounterStoreTest, ConcurrentAwaitedAddsFromTwoLoopsSumExactly) {
  InProcessCounterStore store;
  constexpr int kAdds = 20'000;
  // Through the awaitable interface, each thread on its own loop, as two io threads would.
  on_two_threads([&](int) {
    boost::asio::io_context io;
    for (int i = 0; i < kAdds; ++i) test::run(io, store.add_counter("usage:t:d:tokens", 3, 0, kT0));
  });
  EXPECT_EQ(store.read_counter_now("usage:t:d:tokens", kT0), 2 * 3 * kAdds);
}

TEST(InProcessCounterStoreTest, ConcurrentAdmissionsFromTwoThreadsRespectTheLimits) {
  InProcessCounterStore store;
  std::atomic<int> allowed{0};
  std::atomic<int> acquired{0};
  on_two_threads([&](int t) {
    for (int i = 0; i < 5000; ++i) {
      if (store.rate_now("rate:t:s", 10, 1000, 50, kT0).allowed) allowed.fetch_add(1);
      const std::string id = std::to_string(t) + ":" + std::to_string(i);
      if (store.acquire_lease_now("lease:t", id, 10, 30'000, kT0).acquired) acquired.fetch_add(1);
    }
  });
  EXPECT_EQ(allowed.load(), 50);
  EXPECT_EQ(acquired.load(), 10);
  EXPECT_EQ(store.acquire_lease_now("lease:t", "late", 10, 30'000, kT0).in_use, 10);
}

TEST(InProcessCounterStoreTest, ExpiredEntriesDoNotAccumulate) {
  // A stream of one-off keys, each live for 10 ms while the clock moves 1 ms per call: without
  // sweeping, 3 x 100000 entries would pile up.
  InProcessCounterStore store;
  constexpr std::int64_t kKeys = 100'000;
  for (std::int64_t i = 0; i < kKeys; ++i) {
    const std::int64_t now = kT0 + i;
    const std::string n = std::to_string(i);
    store.add_counter_now("usage:" + n + ":d:tokens", 1, now + 10, now);
    store.rate_now("rate:" + n + ":s", 100, 1000, 1, now);  // TAT now + 10 ms
    store.acquire_lease_now("lease:" + n, "req", 5, 10, now);
  }
  EXPECT_LT(store.size(), std::size_t{1000});
  store.sweep(kT0 + kKeys + 10);
  EXPECT_EQ(store.size(), 0U);
}

TEST(InProcessCounterStoreTest, SweepKeepsLiveEntries) {
  InProcessCounterStore store;
  store.add_counter_now("usage:t:d:tokens", 7, kT0 + 1000, kT0);
  store.add_counter_now("usage:t:m:tokens", 8, 0, kT0);
  store.rate_now("rate:t:m", 1, 60'000, 1, kT0);
  store.acquire_lease_now("lease:t", "a", 5, 30'000, kT0);
  store.sweep(kT0 + 999);
  EXPECT_EQ(store.size(), 4U);
  store.sweep(kT0 + 1000);  // only the first counter has expired
  EXPECT_EQ(store.size(), 3U);
  EXPECT_EQ(store.read_counter_now("usage:t:m:tokens", kT0 + 1000), 8);
  EXPECT_FALSE(store.rate_now("rate:t:m", 1, 60'000, 1, kT0 + 1000).allowed);
  EXPECT_EQ(store.acquire_lease_now("lease:t", "b", 5, 30'000, kT0 + 1000).in_use, 2);
}

TEST(InProcessCounterStoreTest, ReleasingTheLastLeaseDropsTheKey) {
  InProcessCounterStore store;
  store.acquire_lease_now("lease:t", "a", 5, 30'000, kT0);
  store.acquire_lease_now("lease:t", "b", 5, 30'000, kT0);
  EXPECT_EQ(store.size(), 1U);
  store.release_lease_now("lease:t", "a");
  store.release_lease_now("lease:t", "b");
  EXPECT_EQ(store.size(), 0U);
}

TEST(InProcessCounterStoreTest, ReadingAnExpiredCounterDropsIt) {
  InProcessCounterStore store;
  store.add_counter_now("usage:t:d:requests", 3, kT0 + 10, kT0);
  EXPECT_EQ(store.size(), 1U);
  EXPECT_EQ(store.read_counter_now("usage:t:d:requests", kT0 + 10), 0);
  EXPECT_EQ(store.size(), 0U);
}

TEST(InProcessCounterStoreTest, DumpListsLiveCountersUnderThePrefixSortedByKey) {
  InProcessCounterStore store;
  store.add_counter_now("usage:b:2026-11-27:tokens", 500, kT0 + 60'000, kT0);
  store.add_counter_now("usage:a:2026-11:tokens", 9000, 0, kT0);
  store.add_counter_now("usage:a:2026-11-27:requests", 3, kT0 + 60'000, kT0);
  store.add_counter_now("usage:old:2026-11-26:requests", 1, kT0 + 10, kT0);  // expires
  store.add_counter_now("other:x", 1, 0, kT0);
  store.rate_now("rate:a:s", 10, 1000, 1, kT0);              // not a counter
  store.acquire_lease_now("lease:a", "r1", 5, 30'000, kT0);  // not a counter

  const std::vector<CounterRow> rows = store.dump("usage:", kT0 + 10);
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[0].key, "usage:a:2026-11-27:requests");
  EXPECT_EQ(rows[0].value, 3);
  EXPECT_EQ(rows[0].expire_at_ms, kT0 + 60'000);
  EXPECT_EQ(rows[1].key, "usage:a:2026-11:tokens");
  EXPECT_EQ(rows[1].value, 9000);
  EXPECT_EQ(rows[1].expire_at_ms, 0);
  EXPECT_EQ(rows[2].key, "usage:b:2026-11-27:tokens");

  EXPECT_EQ(store.dump("", kT0 + 10).size(), 4U);
  EXPECT_TRUE(store.dump("nothing:", kT0).empty());
}

TEST(InProcessCounterStoreTest, LoadRestoresDumpedCountersAfterARestart) {
  std::vector<CounterRow> saved;
  {
    InProcessCounterStore before;
    before.add_counter_now("usage:a:2026-11-27:tokens", 1234, kT0 + 5000, kT0);
    before.add_counter_now("usage:a:2026-11:tokens", 99'999, 0, kT0);
    saved = before.dump("usage:", kT0 + 1);
  }
  InProcessCounterStore after;
  after.load(saved);
  EXPECT_EQ(after.read_counter_now("usage:a:2026-11-27:tokens", kT0 + 2), 1234);
  EXPECT_EQ(after.add_counter_now("usage:a:2026-11-27:tokens", 6, kT0 + 99'000, kT0 + 3), 1240);
  EXPECT_EQ(after.read_counter_now("usage:a:2026-11:tokens", kT0 + 2), 99'999);
  // The restored expiry still applies (the later add did not move it).
  EXPECT_EQ(after.read_counter_now("usage:a:2026-11-27:tokens", kT0 + 5000), 0);
  EXPECT_EQ(after.dump("usage:", kT0 + 5000),
            std::vector<CounterRow>(saved.begin() + 1, saved.end()));
}

TEST(InProcessCounterStoreTest, LoadReplacesExistingCounters) {
  InProcessCounterStore store;
  store.add_counter_now("usage:a:d:requests", 50, kT0 + 1000, kT0);
  const std::vector<CounterRow> rows{{"usage:a:d:requests", 7, kT0 + 2000}};
  store.load(rows);
  EXPECT_EQ(store.read_counter_now("usage:a:d:requests", kT0 + 1500), 7);
  EXPECT_EQ(store.read_counter_now("usage:a:d:requests", kT0 + 2000), 0);
}

}  // namespace
}  // namespace relay::limits
