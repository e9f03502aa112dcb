// Shared account health: two AccountPools stand for two nodes, each with its own SharedHealth
// on the test Redis (the ctest fixture, scripts/test-redis.sh); every test has its own key
// prefix. Real clocks: window ends travel as wall-clock time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "app/shared_health.hpp"
#include "base/unix_time.hpp"
#include "redis/url.hpp"
#include "redis_test_support.hpp"

namespace relay::app {
namespace {

using namespace std::chrono_literals;
using pool::AccountPool;
using pool::Clock;
using pool::FailureClass;
using pool::HealthState;

store::SnapshotAccount account(std::int64_t id) {
  store::SnapshotAccount a;
  a.id = id;
  a.name = "acct" + std::to_string(id);
  return a;
}

pool::AttemptOutcome fail(FailureClass c) {
  return {c, std::nullopt, std::nullopt};
}

pool::AccountStatus status_of(const AccountPool& p, std::int64_t id) {
  for (auto& s : p.status(Clock::now()))
    if (s.id == id) return s;
  ADD_FAILURE() << "no account " << id;
  return {};
}

int closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class SharedHealthTest : public ::testing::Test {
 protected:
  redis::Endpoint endpoint;
  std::string prefix;
  store::Snapshot snap;
  std::unique_ptr<AccountPool> node1, node2;
  std::unique_ptr<SharedHealth> shared1, shared2;

  void SetUp() override {
    const std::string url = relay::test::test_redis_url();
    if (url.empty()) GTEST_SKIP() << "no test redis (run through ctest)";
    endpoint = *redis::parse_url(url).endpoint;
    prefix = "shared-health-test:" + std::to_string(::getpid()) + ":" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ":";
    pool::PoolConfig cfg;
    cfg.policy[static_cast<int>(FailureClass::kServerError)].base_cooldown = 60s;
    cfg.policy[static_cast<int>(FailureClass::kServerError)].max_cooldown = 600s;
    start(cfg, {account(1), account(2)});
  }

  static redis::ConnectionOptions opts() {
    redis::ConnectionOptions o;
    o.call_timeout = 200ms;
    return o;
  }

  void start(const pool::PoolConfig& cfg, std::vector<store::SnapshotAccount> accounts) {
    shared1.reset();
    shared2.reset();
    snap.accounts = std::move(accounts);
    node1 = std::make_unique<AccountPool>(cfg);
    node2 = std::make_unique<AccountPool>(cfg);
    node1->sync(snap, Clock::now());
    node2->sync(snap, Clock::now());
    shared1 = std::make_unique<SharedHealth>(endpoint, prefix, *node1, opts());
    shared2 = std::make_unique<SharedHealth>(endpoint, prefix, *node2, opts());
  }

  std::int64_t pick(AccountPool& p) {
    auto s = p.select(snap, "gpt-5", "", {}, Clock::now());
    return s.account ? s.account->id : -1;
  }

  redis::Reply raw(const std::vector<std::string>& argv) {
    redis::BlockingClient c(endpoint, {});
    return c.command(argv);
  }
};

TEST_F(SharedHealthTest, CoolingOnOneNodeIsAdoptedByTheOther) {
  node1->record(1, fail(FailureClass::kServerError), Clock::now());
  shared1->tick();
  EXPECT_EQ(shared1->published(), 1u);
  shared2->tick();
  EXPECT_EQ(shared2->adopted(), 1u);
  EXPECT_EQ(shared2->failures(), 0u);

  const auto s1 = status_of(*node1, 1), s2 = status_of(*node2, 1);
  EXPECT_EQ(s2.state, HealthState::kCooling);
  EXPECT_NEAR(s2.cooling_until_unix_ms, s1.cooling_until_unix_ms, 1);
  EXPECT_EQ(s2.last_failure, FailureClass::kServerError);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(pick(*node2), 2);
  const auto changes = node2->take_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].note, "shared");
  EXPECT_EQ(changes[0].cause, FailureClass::kServerError);

  const auto ttl = raw({"PTTL", prefix + "health:1"});
  EXPECT_GT(ttl.integer, 60'000);  // the window and a margin
  EXPECT_LE(ttl.integer, 90'000);
}

TEST_F(SharedHealthTest, ACredentialFailureDisablesTheAccountEverywhere) {
  node1->record(1, fail(FailureClass::kAuth), Clock::now());
  shared1->tick();
  shared2->tick();
  EXPECT_EQ(status_of(*node2, 1).state, HealthState::kDisabled);
  EXPECT_EQ(status_of(*node2, 1).last_failure, FailureClass::kAuth);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(pick(*node2), 2);
  const auto ttl = raw({"PTTL", prefix + "health:1"});
  EXPECT_GT(ttl.integer, 6 * 24 * 3'600'000LL);
}

TEST_F(SharedHealthTest, AnOperatorEnableWinsOverAnOlderSharedDisable) {
  node1->record(1, fail(FailureClass::kAuth), Clock::now());
  shared1->tick();
  shared2->tick();
  ASSERT_EQ(status_of(*node2, 1).state, HealthState::kDisabled);

  std::this_thread::sleep_for(2ms);
  snap.accounts[0].enabled_at = unix_now_ms();  // account enable
  node2->sync(snap, Clock::now());
  shared2->tick();
  EXPECT_EQ(status_of(*node2, 1).state, HealthState::kHealthy);
  node1->sync(snap, Clock::now());
  shared1->tick();
  EXPECT_EQ(status_of(*node1, 1).state, HealthState::kHealthy);

  std::this_thread::sleep_for(2ms);  // the new key fails too
  node1->record(1, fail(FailureClass::kAuth), Clock::now());
  shared1->tick();
  shared2->tick();
  EXPECT_EQ(status_of(*node2, 1).state, HealthState::kDisabled);
  EXPECT_EQ(shared2->adopted(), 2u);
}

TEST_F(SharedHealthTest, EndedWindowsAreNotReapplied) {
  pool::PoolConfig cfg;
  cfg.policy[static_cast<int>(FailureClass::kServerError)].base_cooldown = 150ms;
  start(cfg, {account(1), account(2)});
  node1->record(1, fail(FailureClass::kServerError), Clock::now());
  shared1->tick();
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(raw({"GET", prefix + "health:1"}).type, redis::Reply::Type::kString);  // margin
  shared2->tick();
  shared1->tick();
  EXPECT_EQ(status_of(*node2, 1).state, HealthState::kHealthy);
  EXPECT_EQ(status_of(*node1, 1).state, HealthState::kHalfOpen);
  EXPECT_EQ(shared1->adopted() + shared2->adopted(), 0u);
}

TEST_F(SharedHealthTest, AdoptedVerdictsDoNotBounceBack) {
  node1->record(1, fail(FailureClass::kServerError), Clock::now());
  shared1->tick();
  const auto value = raw({"GET", prefix + "health:1"}).str;
  for (int i = 0; i < 3; ++i) {
    shared2->tick();
    shared1->tick();
  }
  EXPECT_EQ(shared2->adopted(), 1u);
  EXPECT_TRUE(node2->local_verdicts(Clock::now()).empty());
  EXPECT_EQ(shared2->published(), 0u);
  EXPECT_EQ(shared1->published(), 1u);  // sent once, not every tick
  EXPECT_EQ(shared1->adopted(), 0u);
  EXPECT_EQ(raw({"GET", prefix + "health:1"}).str, value);
}

TEST_F(SharedHealthTest, ManyAccountsAreAllRead) {
  std::vector<store::SnapshotAccount> accounts;
  for (int id = 1; id <= 40; ++id) accounts.push_back(account(id));
  pool::PoolConfig cfg;
  cfg.policy[static_cast<int>(FailureClass::kServerError)].base_cooldown = 60s;
  start(cfg, accounts);
  for (int id : {3, 17, 38}) node1->record(id, fail(FailureClass::kServerError), Clock::now());
  shared1->tick();
  shared2->tick();
  EXPECT_EQ(shared2->adopted(), 3u);
  for (int id : {3, 17, 38}) EXPECT_EQ(status_of(*node2, id).state, HealthState::kCooling);
  EXPECT_EQ(status_of(*node2, 16).state, HealthState::kHealthy);
}

TEST_F(SharedHealthTest, UnreachableRedisLeavesEachNodeOnItsOwn) {
  redis::Endpoint nowhere;
  nowhere.host = "127.0.0.1";
  nowhere.port = closed_port();
  SharedHealth shared(nowhere, prefix, *node1, opts());
  node1->record(1, fail(FailureClass::kServerError), Clock::now());
  auto t0 = Clock::now();
  EXPECT_NO_THROW(shared.tick());
  EXPECT_LT(Clock::now() - t0, 1s);
  EXPECT_EQ(shared.failures(), 1u);
  t0 = Clock::now();
  EXPECT_NO_THROW(shared.tick());  // within the retry interval: not even tried
  EXPECT_LT(Clock::now() - t0, 50ms);
  EXPECT_EQ(shared.failures(), 1u);
  EXPECT_EQ(shared.published(), 0u);
  EXPECT_EQ(status_of(*node1, 1).state, HealthState::kCooling);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(pick(*node1), 2);
}

}  // namespace
}  // namespace relay::app
