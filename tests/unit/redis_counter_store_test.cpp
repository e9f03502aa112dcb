// The Redis CounterStore: the shared suite against a real redis-server (started by the ctest
// fixture, scripts/test-redis.sh), GCRA parity between the Lua script and gcra::decide, and the
// failure paths (no server, a server that never answers, fail-open).
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "counter_store_suite.hpp"
#include "limits/fallback_counter_store.hpp"
#include "limits/in_process_counter_store.hpp"
#include "limits/redis_counter_store.hpp"
#include "redis/connection.hpp"
#include "redis/url.hpp"
#include "redis_test_support.hpp"

namespace relay::limits::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs io until the connection is up; a fixture Redis that does not accept within 5 s is a
// broken test environment, not a skip.
void wait_connected(asio::io_context& io, redis::Connection& c) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  io.restart();
  while (!c.connected()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("redis fixture: no connection within 5 s");
    io.run_one_for(20ms);
    if (io.stopped()) io.restart();
  }
}

std::shared_ptr<redis::Connection> connect(asio::io_context& io, const std::string& url,
                                           redis::ConnectionOptions opts = {}) {
  auto ep = redis::parse_url(url);
  if (!ep.endpoint) throw std::runtime_error(ep.error);
  auto c = std::make_shared<redis::Connection>(io.get_executor(), *ep.endpoint, opts);
  c->start();
  return c;
}

struct RedisBackend {
  static std::unique_ptr<CounterStore> make(asio::io_context& io) {
    const std::string url = relay::test::test_redis_url();
    if (url.empty()) return nullptr;
    auto c = connect(io, url);
    wait_connected(io, *c);
    return std::make_unique<RedisCounterStore>(c, "test:");
  }
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Redis, CounterStoreSuite, ::testing::Types<RedisBackend>);

namespace {

class RedisCounterStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = relay::test::test_redis_url();
    if (url_.empty()) GTEST_SKIP() << "no test redis (run through ctest)";
    conn_ = connect(io_, url_);
    wait_connected(io_, *conn_);
    store_ = std::make_unique<RedisCounterStore>(conn_, "test:");
    std::random_device rd;
    prefix_ = "parity:" + std::to_string(rd()) + ":";
  }

  asio::io_context io_;
  std::string url_;
  std::shared_ptr<redis::Connection> conn_;
  std::unique_ptr<RedisCounterStore> store_;
  std::string prefix_;
};

// The Lua script must give exactly gcra::decide's figures, including at the bounds (periods of
// decades, limit 1, huge bursts, emission intervals that do not divide evenly).
TEST_F(RedisCounterStoreTest, GcraScriptMatchesTheInProcessStoreExactly) {
  InProcessCounterStore reference;
  std::mt19937_64 rng(20261127);
  const std::int64_t periods[] = {1, 7, 1000, 60'000, 86'400'000, std::int64_t{1} << 45};
  const std::int64_t t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  int compared = 0;
  for (int key = 0; key < 24; ++key) {
    const std::int64_t limit = std::uniform_int_distribution<std::int64_t>(1, 1'000'000)(rng) %
                                   (key % 3 == 0 ? 7 : 100'000) +
                               1;
    const std::int64_t period = periods[key % 6];
    const std::int64_t burst = key % 5 == 0
                                   ? std::int64_t{1} << 40
                                   : std::uniform_int_distribution<std::int64_t>(1, 9)(rng);
    const std::string k = prefix_ + std::to_string(key);
    std::int64_t now = t0;
    for (int i = 0; i < 40; ++i) {
      now += std::uniform_int_distribution<std::int64_t>(0, 3)(rng) *
             std::uniform_int_distribution<std::int64_t>(0, 400)(rng);
      const bool peek = i % 7 == 3;
      const RateResult want = peek ? reference.peek_rate_now(k, limit, period, burst, now)
                                   : reference.rate_now(k, limit, period, burst, now);
      const RateResult got = run(io_, peek ? store_->peek_rate(k, limit, period, burst, now)
                                           : store_->rate(k, limit, period, burst, now));
      ASSERT_EQ(got.allowed, want.allowed) << k << " step " << i;
      ASSERT_EQ(got.limit, want.limit) << k << " step " << i;
      ASSERT_EQ(got.remaining, want.remaining) << k << " step " << i;
      ASSERT_EQ(got.reset_ms, want.reset_ms) << k << " step " << i;
      ASSERT_EQ(got.retry_after_ms, want.retry_after_ms) << k << " step " << i;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 24 * 40);
}

TEST_F(RedisCounterStoreTest, KeysCarryTheConfiguredPrefix) {
  RedisCounterStore prefixed(conn_, "other-prefix:");
  run(io_, prefixed.add_counter(prefix_ + "c", 5, 0, 1000));
  const std::string full = "other-prefix:" + prefix_ + "c";
  const std::array<std::string_view, 3> argv{"HGET", full, "v"};
  auto reply = run(io_, conn_->command(argv));
  ASSERT_EQ(reply.type, redis::Reply::Type::kString);
  EXPECT_EQ(reply.str, "5");
  // The unprefixed store does not see it.
  EXPECT_EQ(run(io_, store_->read_counter(prefix_ + "c", 1000)), 0);
  const std::array<std::string_view, 2> del{"DEL", full};
  run(io_, conn_->command(del));
}

TEST_F(RedisCounterStoreTest, ScriptsAreReloadedAfterAScriptFlush) {
  EXPECT_EQ(run(io_, store_->add_counter(prefix_ + "f", 2, 0, 1000)), 2);
  const std::array<std::string_view, 2> flush{"SCRIPT", "FLUSH"};
  run(io_, conn_->command(flush));
  EXPECT_EQ(run(io_, store_->add_counter(prefix_ + "f", 3, 0, 1000)), 5);
}

// ---- failure paths: no fixture needed -------------------------------------------------------

// A port on which nothing listens: bind one, note it, close it.
int closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

TEST(RedisUnavailableTest, CallsFailFastWhileThereIsNoServer) {
  asio::io_context io;
  auto c = connect(io, "redis://127.0.0.1:" + std::to_string(closed_port()));
  RedisCounterStore store(c, "x:");
  io.run_for(50ms);  // the connect attempt is refused
  EXPECT_FALSE(c->connected());
  EXPECT_THROW(run(io, store.rate("k", 5, 1000, 5, 1000)), Unavailable);
  EXPECT_THROW(run(io, store.read_counter("k", 1000)), Unavailable);
  EXPECT_THROW(run(io, store.release_lease("k", "id")), Unavailable);
}

// A server that accepts and reads but never answers: each call gives up after the call timeout,
// and after a few in a row the connection is dropped and made again.
TEST(RedisUnavailableTest, ASilentServerTimesOutEachCallAndIsReconnected) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  int accepted = 0;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> held;
  std::function<void()> accept_one = [&] {
    acceptor.async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      ++accepted;
      auto sp = std::make_shared<asio::ip::tcp::socket>(std::move(s));
      held.push_back(sp);
      auto buf = std::make_shared<std::array<char, 4096>>();
      auto drain_ptr = std::make_shared<std::function<void()>>();
      // The loop holds itself weakly and its pending read strongly: a strong self-capture is a
      // cycle that is never freed (LeakSanitizer, make sanitize).
      std::weak_ptr<std::function<void()>> weak_drain = drain_ptr;
      *drain_ptr = [sp, buf, weak_drain] {
        auto self = weak_drain.lock();
        if (!self) return;
        sp->async_read_some(asio::buffer(*buf), [self](boost::system::error_code e, std::size_t) {
          if (!e) (*self)();
        });
      };
      (*drain_ptr)();
      accept_one();
    });
  };
  accept_one();
  redis::ConnectionOptions opts;
  opts.call_timeout = 30ms;
  opts.timeouts_before_reconnect = 2;
  opts.reconnect_min = 10ms;
  auto c =
      connect(io, "redis://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()), opts);
  wait_connected(io, *c);
  RedisCounterStore store(c, "x:");
  EXPECT_THROW(run(io, store.read_counter("k", 1000)), Unavailable);
  EXPECT_THROW(run(io, store.read_counter("k", 1000)), Unavailable);
  // Two timeouts in a row: the connection was dropped; a new one comes up.
  wait_connected(io, *c);
  EXPECT_EQ(accepted, 2);
  for (auto& s : held) s->close();
}

TEST(RedisUnavailableTest, FailOpenAnswersFromLocalLimitsAndCountsTheOutageOnce) {
  asio::io_context io;
  auto c = connect(io, "redis://127.0.0.1:" + std::to_string(closed_port()));
  RedisCounterStore redis_store(c, "x:");
  InProcessCounterStore local;
  FallbackStats stats;
  FallbackCounterStore store(redis_store, local, stats);
  const std::int64_t now = 1'764'000'000'000;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(run(io, store.rate("t", 3, 1000, 3, now)).allowed);
  EXPECT_FALSE(run(io, store.rate("t", 3, 1000, 3, now)).allowed);  // the local limit holds
  EXPECT_TRUE(run(io, store.acquire_lease("l", "a", 1, 60'000, now)).acquired);
  EXPECT_FALSE(run(io, store.acquire_lease("l", "b", 1, 60'000, now)).acquired);
  run(io, store.release_lease("l", "a"));
  EXPECT_TRUE(run(io, store.acquire_lease("l", "b", 1, 60'000, now)).acquired);
  EXPECT_EQ(run(io, store.add_counter("q", 2, 0, now)), 2);
  EXPECT_EQ(run(io, store.read_counter("q", now)), 2);
  EXPECT_EQ(stats.outages.load(), 1);
  EXPECT_TRUE(stats.degraded.load());
  EXPECT_GE(stats.local_answers.load(), 10);
}

}  // namespace
}  // namespace relay::limits::test
