#pragma once
// The CounterStore contract as one test suite that every backend runs (in-process now, Redis
// later). It is a gtest type-parameterized suite: a backend's test file defines a Backend type
// and instantiates the suite for it:
//
//   struct RedisBackend {
//     // nullptr skips the suite (say, no redis-server); the store may bind to `io`, which is
//     // the loop that runs every call of the test.
//     static std::unique_ptr<relay::limits::CounterStore> make(boost::asio::io_context& io);
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Redis, CounterStoreSuite, ::testing::Types<RedisBackend>);
//
// (Type-parameterized rather than TEST_P over a factory because only template tests may live in
// a header that several test files of one binary include.)
//
// Times: the suite's clock starts at the real unix time (so a backend that also sets real TTLs
// on its keys, as Redis does for garbage collection, keeps them alive) and then moves by hand.
// Backends must judge expiry by the now_ms passed in, never by their own clock. Keys carry a
// random per-test prefix, so runs against a shared server do not see each other's state.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "limits/counter_store.hpp"
#include "limits/gcra.hpp"

namespace relay::limits::test {

// Waits, running `io`, until every future is ready; throws after 10 s so that a backend that
// loses a completion fails the test instead of hanging it.
template <class Future>
void drive(boost::asio::io_context& io, std::vector<Future>& futures) {
  using namespace std::chrono_literals;
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (auto& f : futures) {
    while (f.wait_for(0s) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("CounterStore call did not complete within 10 s");
      io.run_one_for(50ms);
      if (io.stopped()) io.restart();
    }
  }
}

// Runs one awaitable to completion on `io` and returns its result (or rethrows its exception).
template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> call) {
  std::vector<std::future<T>> futures;
  futures.push_back(boost::asio::co_spawn(io, std::move(call), boost::asio::use_future));
  drive(io, futures);
  return futures.front().get();
}

template <class Backend>
class CounterStoreSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Backend::make(io_);
    if (!store_) GTEST_SKIP() << "backend not available";
    std::random_device rd;
    const std::uint64_t salt = (std::uint64_t{rd()} << 32) | rd();
    prefix_ = "suite:" + std::to_string(salt) + ":";
    t0_ = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  }

  std::string key(std::string_view name) const { return prefix_ + std::string(name); }

  RateResult rate(std::string_view name, std::int64_t limit, std::int64_t period_ms,
                  std::int64_t burst, std::int64_t now_ms) {
    const std::string k = key(name);
    return run(io_, store_->rate(k, limit, period_ms, burst, now_ms));
  }
  RateResult peek(std::string_view name, std::int64_t limit, std::int64_t period_ms,
                  std::int64_t burst, std::int64_t now_ms) {
    const std::string k = key(name);
    return run(io_, store_->peek_rate(k, limit, period_ms, burst, now_ms));
  }
  LeaseResult acquire(std::string_view name, std::string_view id, std::int64_t max,
                      std::int64_t ttl_ms, std::int64_t now_ms) {
    const std::string k = key(name);
    return run(io_, store_->acquire_lease(k, id, max, ttl_ms, now_ms));
  }
  void renew(std::string_view name, std::string_view id, std::int64_t ttl_ms, std::int64_t now_ms) {
    const std::string k = key(name);
    run(io_, store_->renew_lease(k, id, ttl_ms, now_ms));
  }
  void release(std::string_view name, std::string_view id) {
    const std::string k = key(name);
    run(io_, store_->release_lease(k, id));
  }
  std::int64_t read(std::string_view name, std::int64_t now_ms) {
    const std::string k = key(name);
    return run(io_, store_->read_counter(k, now_ms));
  }
  std::int64_t add(std::string_view name, std::int64_t delta, std::int64_t expire_at_ms,
                   std::int64_t now_ms) {
    const std::string k = key(name);
    return run(io_, store_->add_counter(k, delta, expire_at_ms, now_ms));
  }

  // Declared before store_ so that the store, which may hold handlers on it, goes first.
  boost::asio::io_context io_;
  std::unique_ptr<CounterStore> store_;
  std::string prefix_;
  std::int64_t t0_ = 0;
};

TYPED_TEST_SUITE_P(CounterStoreSuite);

// ---- rate ------------------------------------------------------------------------------------

TYPED_TEST_P(CounterStoreSuite, RateAllowsBurstThenRefusesWithRetryAfterThenRecovers) {
  const std::int64_t t0 = this->t0_;
  for (std::int64_t i = 0; i < 3; ++i) {  // 10 rps, burst 3
    const RateResult r = this->rate("r", 10, 1000, 3, t0);
    ASSERT_TRUE(r.allowed) << "request " << i;
    EXPECT_EQ(r.limit, 3);
    EXPECT_EQ(r.remaining, 2 - i);
    EXPECT_EQ(r.retry_after_ms, 0);
  }
  const RateResult refused = this->rate("r", 10, 1000, 3, t0);
  ASSERT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_GT(refused.retry_after_ms, 0);
  EXPECT_EQ(refused.retry_after_ms, 100);
  EXPECT_EQ(refused.reset_ms, 300);

  EXPECT_FALSE(this->rate("r", 10, 1000, 3, t0 + refused.retry_after_ms - 1).allowed);
  const RateResult again = this->rate("r", 10, 1000, 3, t0 + refused.retry_after_ms);
  EXPECT_TRUE(again.allowed);
  EXPECT_EQ(again.remaining, 0);
}

TYPED_TEST_P(CounterStoreSuite, RateRefusalConsumesNothing) {
  const std::int64_t t0 = this->t0_;
  ASSERT_TRUE(this->rate("r", 1, 1000, 1, t0).allowed);
  // Hammering while refused does not push the next admission back.
  for (std::int64_t dt = 0; dt < 1000; dt += 100) {
    const RateResult r = this->rate("r", 1, 1000, 1, t0 + dt);
    ASSERT_FALSE(r.allowed);
    EXPECT_EQ(r.retry_after_ms, 1000 - dt);
  }
  EXPECT_TRUE(this->rate("r", 1, 1000, 1, t0 + 1000).allowed);
}

TYPED_TEST_P(CounterStoreSuite, PeekReportsWithoutConsuming) {
  const std::int64_t t0 = this->t0_;
  RateResult p = this->peek("r", 10, 1000, 3, t0);
  EXPECT_TRUE(p.allowed);
  EXPECT_EQ(p.limit, 3);
  EXPECT_EQ(p.remaining, 3);  // a fresh key: the whole burst
  for (int i = 0; i < 5; ++i) EXPECT_EQ(this->peek("r", 10, 1000, 3, t0).remaining, 3);
  ASSERT_TRUE(this->rate("r", 10, 1000, 3, t0).allowed);
  EXPECT_EQ(this->peek("r", 10, 1000, 3, t0).remaining, 2);
  ASSERT_TRUE(this->rate("r", 10, 1000, 3, t0).allowed);
  ASSERT_TRUE(this->rate("r", 10, 1000, 3, t0).allowed);
  p = this->peek("r", 10, 1000, 3, t0);
  EXPECT_FALSE(p.allowed);
  EXPECT_EQ(p.remaining, 0);
  EXPECT_GT(p.retry_after_ms, 0);
  EXPECT_EQ(p.reset_ms, 300);  // three intervals of 100 ms to a full burst
}

TYPED_TEST_P(CounterStoreSuite, RateFullBurstIsBackAfterReset) {
  const std::int64_t t0 = this->t0_;
  RateResult last;
  for (int i = 0; i < 4; ++i) last = this->rate("r", 2, 1000, 4, t0);
  ASSERT_TRUE(last.allowed);
  EXPECT_EQ(last.reset_ms, 2000);
  EXPECT_FALSE(this->rate("r", 2, 1000, 4, t0 + 1).allowed);
  const std::int64_t back = t0 + last.reset_ms;
  for (std::int64_t i = 0; i < 4; ++i)
    EXPECT_TRUE(this->rate("r", 2, 1000, 4, back).allowed) << "request " << i;
  EXPECT_FALSE(this->rate("r", 2, 1000, 4, back).allowed);
}

TYPED_TEST_P(CounterStoreSuite, RateKeysAreIndependent) {
  const std::int64_t t0 = this->t0_;
  ASSERT_TRUE(this->rate("a", 1, 1000, 1, t0).allowed);
  EXPECT_FALSE(this->rate("a", 1, 1000, 1, t0).allowed);
  EXPECT_TRUE(this->rate("b", 1, 1000, 1, t0).allowed);
  EXPECT_FALSE(this->rate("b", 1, 1000, 1, t0).allowed);
  EXPECT_FALSE(this->rate("a", 1, 1000, 1, t0 + 1).allowed);
}

TYPED_TEST_P(CounterStoreSuite, RateMatchesTheGcraMathExactly) {
  // Every figure a backend reports must be gcra::decide's, rounding included: the store is
  // driven through an irregular sequence of instants and compared with the pure function.
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::int64_t> step(0, 180);
  std::int64_t tat = 0;
  std::int64_t now = this->t0_;
  for (int i = 0; i < 300; ++i) {
    now += step(rng);
    const gcra::Decision want = gcra::decide(tat, now, 7, 1000, 4);
    if (want.allowed) tat = want.tat_us;
    const RateResult got = this->rate("r", 7, 1000, 4, now);
    ASSERT_EQ(got.allowed, want.allowed) << "call " << i;
    ASSERT_EQ(got.limit, want.limit) << "call " << i;
    ASSERT_EQ(got.remaining, want.remaining) << "call " << i;
    ASSERT_EQ(got.reset_ms, want.reset_ms) << "call " << i;
    ASSERT_EQ(got.retry_after_ms, want.retry_after_ms) << "call " << i;
  }
}

TYPED_TEST_P(CounterStoreSuite, RateWithLimitBelowOneIsNotLimited) {
  for (int i = 0; i < 5; ++i) {
    const RateResult r = this->rate("r", 0, 1000, 1, this->t0_);
    EXPECT_TRUE(r.allowed);
    EXPECT_EQ(r.limit, 0);
  }
}

// ---- leases ----------------------------------------------------------------------------------

TYPED_TEST_P(CounterStoreSuite, LeaseMaxIsRespected) {
  const std::int64_t t0 = this->t0_;
  LeaseResult a = this->acquire("l", "a", 2, 30'000, t0);
  EXPECT_TRUE(a.acquired);
  EXPECT_EQ(a.in_use, 1);
  LeaseResult b = this->acquire("l", "b", 2, 30'000, t0);
  EXPECT_TRUE(b.acquired);
  EXPECT_EQ(b.in_use, 2);
  LeaseResult c = this->acquire("l", "c", 2, 30'000, t0);
  EXPECT_FALSE(c.acquired);
  EXPECT_EQ(c.in_use, 2);
  // The refused one was not recorded: releasing it frees nothing.
  this->release("l", "c");
  EXPECT_FALSE(this->acquire("l", "d", 2, 30'000, t0).acquired);
}

TYPED_TEST_P(CounterStoreSuite, LeaseReleaseFreesASlot) {
  const std::int64_t t0 = this->t0_;
  ASSERT_TRUE(this->acquire("l", "a", 1, 30'000, t0).acquired);
  ASSERT_FALSE(this->acquire("l", "b", 1, 30'000, t0).acquired);
  this->release("l", "a");
  const LeaseResult b = this->acquire("l", "b", 1, 30'000, t0);
  EXPECT_TRUE(b.acquired);
  EXPECT_EQ(b.in_use, 1);
  this->release("l", "b");
  this->release("l", "b");  // twice, or unknown: nothing happens
  this->release("l", "never-held");
  EXPECT_EQ(this->acquire("l", "c", 1, 30'000, t0).in_use, 1);
}

TYPED_TEST_P(CounterStoreSuite, LeaseSameIdTwiceCountsOnce) {
  const std::int64_t t0 = this->t0_;
  ASSERT_TRUE(this->acquire("l", "a", 2, 30'000, t0).acquired);
  const LeaseResult again = this->acquire("l", "a", 2, 30'000, t0 + 10);
  EXPECT_TRUE(again.acquired);
  EXPECT_EQ(again.in_use, 1);
  EXPECT_TRUE(this->acquire("l", "b", 2, 30'000, t0).acquired);
  // At the limit, the holder of a lease still gets it again (a retry of its own request).
  const LeaseResult held = this->acquire("l", "a", 2, 30'000, t0 + 20);
  EXPECT_TRUE(held.acquired);
  EXPECT_EQ(held.in_use, 2);
  // One release frees it, however often it was acquired.
  this->release("l", "a");
  EXPECT_EQ(this->acquire("l", "c", 2, 30'000, t0).in_use, 2);
}

TYPED_TEST_P(CounterStoreSuite, LeaseExpiredNoLongerCounts) {
  const std::int64_t t0 = this->t0_;
  ASSERT_TRUE(this->acquire("l", "a", 2, 1000, t0).acquired);
  ASSERT_TRUE(this->acquire("l", "b", 2, 1000, t0 + 500).acquired);
  EXPECT_FALSE(this->acquire("l", "c", 2, 1000, t0 + 999).acquired);
  // a's TTL has passed (its holder died without releasing): its slot is free again.
  const LeaseResult c = this->acquire("l", "c", 2, 1000, t0 + 1000);
  EXPECT_TRUE(c.acquired);
  EXPECT_EQ(c.in_use, 2);
  // Both remaining leases lapse too.
  const LeaseResult d = this->acquire("l", "d", 2, 1000, t0 + 2000);
  EXPECT_TRUE(d.acquired);
  EXPECT_EQ(d.in_use, 1);
}

TYPED_TEST_P(CounterStoreSuite, LeaseRenewKeepsItAlive) {
  const std::int64_t t0 = this->t0_;
  ASSERT_TRUE(this->acquire("l", "a", 1, 1000, t0).acquired);
  // A long stream: renewed every 800 ms, it outlives its first TTL many times over.
  for (std::int64_t t = t0 + 800; t < t0 + 8000; t += 800) {
    this->renew("l", "a", 1000, t);
    EXPECT_FALSE(this->acquire("l", "b", 1, 1000, t + 799).acquired) << "at +" << t - t0;
  }
  const std::int64_t last_renewal = t0 + 7200;
  EXPECT_TRUE(this->acquire("l", "b", 1, 1000, last_renewal + 1000).acquired);
}

TYPED_TEST_P(CounterStoreSuite, LeaseRenewDoesNotReviveAnExpiredOrUnknownLease) {
  const std::int64_t t0 = this->t0_;
  ASSERT_TRUE(this->acquire("l", "a", 1, 1000, t0).acquired);
  this->renew("l", "a", 1000, t0 + 1200);  // too late: a expired at t0 + 1000
  this->renew("l", "x", 1000, t0 + 1200);  // never acquired
  const LeaseResult b = this->acquire("l", "b", 1, 1000, t0 + 1200);
  EXPECT_TRUE(b.acquired);
  EXPECT_EQ(b.in_use, 1);
}

TYPED_TEST_P(CounterStoreSuite, LeaseKeysAreIndependent) {
  const std::int64_t t0 = this->t0_;
  ASSERT_TRUE(this->acquire("l1", "a", 1, 30'000, t0).acquired);
  EXPECT_FALSE(this->acquire("l1", "b", 1, 30'000, t0).acquired);
  const LeaseResult other = this->acquire("l2", "b", 1, 30'000, t0);
  EXPECT_TRUE(other.acquired);
  EXPECT_EQ(other.in_use, 1);
}

TYPED_TEST_P(CounterStoreSuite, LeaseWithMaxBelowOneIsNotLimitedButCounted) {
  const std::int64_t t0 = this->t0_;
  for (std::int64_t i = 0; i < 5; ++i) {
    const LeaseResult r = this->acquire("l", "id" + std::to_string(i), 0, 30'000, t0);
    EXPECT_TRUE(r.acquired);
    EXPECT_EQ(r.in_use, i + 1);
  }
  this->release("l", "id0");
  EXPECT_EQ(this->acquire("l", "id9", 0, 30'000, t0).in_use, 5);
}

// ---- counters --------------------------------------------------------------------------------

TYPED_TEST_P(CounterStoreSuite, CounterAddAndRead) {
  const std::int64_t t0 = this->t0_;
  const std::int64_t end = t0 + 86'400'000;
  EXPECT_EQ(this->read("c", t0), 0);
  EXPECT_EQ(this->add("c", 5, end, t0), 5);
  EXPECT_EQ(this->add("c", 7, end, t0 + 1), 12);
  EXPECT_EQ(this->read("c", t0 + 2), 12);
  EXPECT_EQ(this->add("c", -2, end, t0 + 3), 10);
  EXPECT_EQ(this->add("c", 1'000'000'000'000, end, t0 + 4), 1'000'000'000'010);
  EXPECT_EQ(this->read("other", t0), 0);
}

TYPED_TEST_P(CounterStoreSuite, CounterExpiryResetsToZero) {
  const std::int64_t t0 = this->t0_;
  EXPECT_EQ(this->add("c", 5, t0 + 1000, t0), 5);
  EXPECT_EQ(this->read("c", t0 + 999), 5);
  EXPECT_EQ(this->read("c", t0 + 1000), 0);
  // The next period starts from nothing, with its own expiry.
  EXPECT_EQ(this->add("c", 3, t0 + 5000, t0 + 1000), 3);
  EXPECT_EQ(this->read("c", t0 + 4999), 3);
  EXPECT_EQ(this->add("c", 1, t0 + 9000, t0 + 4999), 4);
  EXPECT_EQ(this->read("c", t0 + 5000), 0);
}

TYPED_TEST_P(CounterStoreSuite, CounterAddAfterExpiryStartsOver) {
  // No read in between: the add itself must notice that the old period is over.
  const std::int64_t t0 = this->t0_;
  EXPECT_EQ(this->add("c", 5, t0 + 1000, t0), 5);
  EXPECT_EQ(this->add("c", 3, t0 + 3000, t0 + 2000), 3);
  EXPECT_EQ(this->read("c", t0 + 2999), 3);
  EXPECT_EQ(this->read("c", t0 + 3000), 0);
}

TYPED_TEST_P(CounterStoreSuite, CounterExpiryIsSetWhenCreated) {
  const std::int64_t t0 = this->t0_;
  EXPECT_EQ(this->add("c", 1, t0 + 1000, t0), 1);
  // A later add names a later expiry (it computed the period's end itself): the counter keeps
  // its first one, so a period never stretches.
  EXPECT_EQ(this->add("c", 1, t0 + 60'000, t0 + 500), 2);
  EXPECT_EQ(this->read("c", t0 + 1000), 0);
}

TYPED_TEST_P(CounterStoreSuite, CounterWithoutExpiryLasts) {
  const std::int64_t t0 = this->t0_;
  EXPECT_EQ(this->add("c", 9, 0, t0), 9);
  EXPECT_EQ(this->read("c", t0 + std::int64_t{10} * 365 * 86'400'000), 9);
}

TYPED_TEST_P(CounterStoreSuite, CounterKeysAreIndependent) {
  const std::int64_t t0 = this->t0_;
  this->add("tokens", 100, t0 + 10'000, t0);
  this->add("requests", 1, t0 + 10'000, t0);
  EXPECT_EQ(this->read("tokens", t0), 100);
  EXPECT_EQ(this->read("requests", t0), 1);
}

// ---- many calls in flight at once --------------------------------------------------------------

TYPED_TEST_P(CounterStoreSuite, InterleavedCallsOnOneLoopAreEachAtomic) {
  // Calls started together on one loop (a networked backend pipelines them) must each be atomic:
  // no lost increment, no lease over the limit, no admission over the burst.
  const std::int64_t t0 = this->t0_;
  const std::string counter = this->key("c");
  const std::string lease = this->key("l");
  const std::string rate = this->key("r");
  constexpr int kCalls = 60;
  // The calls take string_views: what they point at must outlive the calls.
  std::vector<std::string> ids;
  ids.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) ids.push_back("id" + std::to_string(i));
  std::vector<std::future<std::int64_t>> adds;
  std::vector<std::future<LeaseResult>> leases;
  std::vector<std::future<RateResult>> rates;
  adds.reserve(kCalls);
  leases.reserve(kCalls);
  rates.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    adds.push_back(boost::asio::co_spawn(this->io_,
                                         this->store_->add_counter(counter, 2, t0 + 60'000, t0),
                                         boost::asio::use_future));
    leases.push_back(
        boost::asio::co_spawn(this->io_, this->store_->acquire_lease(lease, ids[i], 7, 30'000, t0),
                              boost::asio::use_future));
    rates.push_back(boost::asio::co_spawn(this->io_, this->store_->rate(rate, 1, 60'000, 5, t0),
                                          boost::asio::use_future));
  }
  drive(this->io_, adds);
  drive(this->io_, leases);
  drive(this->io_, rates);
  std::vector<std::int64_t> seen;
  seen.reserve(kCalls);
  for (auto& f : adds) seen.push_back(f.get());
  std::sort(seen.begin(), seen.end());
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(seen[i], 2 * (i + 1));  // each add saw its own sum
  EXPECT_EQ(this->read("c", t0), 2 * kCalls);
  int acquired = 0;
  for (auto& f : leases) acquired += f.get().acquired ? 1 : 0;
  EXPECT_EQ(acquired, 7);
  int allowed = 0;
  for (auto& f : rates) allowed += f.get().allowed ? 1 : 0;
  EXPECT_EQ(allowed, 5);
}

REGISTER_TYPED_TEST_SUITE_P(CounterStoreSuite, RateAllowsBurstThenRefusesWithRetryAfterThenRecovers,
                            RateRefusalConsumesNothing, PeekReportsWithoutConsuming,
                            RateFullBurstIsBackAfterReset, RateKeysAreIndependent,
                            RateMatchesTheGcraMathExactly, RateWithLimitBelowOneIsNotLimited,
                            LeaseMaxIsRespected, LeaseReleaseFreesASlot, LeaseSameIdTwiceCountsOnce,
                            LeaseExpiredNoLongerCounts, LeaseRenewKeepsItAlive,
                            LeaseRenewDoesNotReviveAnExpiredOrUnknownLease, LeaseKeysAreIndependent,
                            LeaseWithMaxBelowOneIsNotLimitedButCounted, CounterAddAndRead,
                            CounterExpiryResetsToZero, CounterAddAfterExpiryStartsOver,
                            CounterExpiryIsSetWhenCreated, CounterWithoutExpiryLasts,
                            CounterKeysAreIndependent, InterleavedCallsOnOneLoopAreEachAtomic);

}  // namespace relay::limits::test
