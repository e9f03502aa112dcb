#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "base/unix_time.hpp"
#include "pool/account_pool.hpp"

namespace relay::pool {
namespace {

using namespace std::chrono_literals;

store::SnapshotAccount account(std::int64_t id, std::string name, int weight = 1,
                               int max_concurrency = 0) {
  store::SnapshotAccount a;
  a.id = id;
  a.name = std::move(name);
  a.weight = weight;
  a.max_concurrency = max_concurrency;
  return a;
}

AttemptOutcome fail(FailureClass c, std::optional<Millis> retry_after = std::nullopt) {
  return {c, retry_after, std::nullopt};
}
const AttemptOutcome kOk{};

class AccountPoolTest : public ::testing::Test {
 protected:
  TimePoint now = TimePoint{} + 1000h;  // a fake clock
  PoolConfig cfg;
  store::Snapshot snap;
  std::unique_ptr<AccountPool> pool;

  void make(std::vector<store::SnapshotAccount> accounts) {
    snap.accounts = std::move(accounts);
    pool = std::make_unique<AccountPool>(cfg);
    pool->sync(snap, now);
  }
  Selection pick(std::string_view key = "", std::vector<std::int64_t> exclude = {},
                 std::string_view model = "gpt-5") {
    return pool->select(snap, model, key, exclude, now);
  }
  std::int64_t pick_id(std::string_view key = "", std::vector<std::int64_t> exclude = {}) {
    auto s = pick(key, std::move(exclude));
    return s.account ? s.account->id : -1;
  }
  AccountStatus status_of(std::int64_t id) {
    for (auto& s : pool->status(now))
      if (s.id == id) return s;
    ADD_FAILURE() << "no account " << id;
    return {};
  }
  // Brings a half-open account back to healthy through its probes.
  void heal(std::int64_t id) {
    for (int i = 0; i < cfg.half_open_successes; ++i) {
      ASSERT_EQ(pool->due_for_probe(now), std::vector<std::int64_t>{id});
      pool->record(id, kOk, now);
    }
    ASSERT_EQ(status_of(id).state, HealthState::kHealthy);
  }
};

TEST_F(AccountPoolTest, WeightedChoiceFollowsWeights) {
  make({account(1, "a", 1), account(2, "b", 2), account(3, "c", 5), account(4, "zero", 0)});
  std::map<std::int64_t, int> hits;
  const int n = 8000;
  for (int i = 0; i < n; ++i) ++hits[pick_id()];  // each lease ends at once
  EXPECT_NEAR(hits[1] / double(n), 1 / 8.0, 0.04);
  EXPECT_NEAR(hits[2] / double(n), 2 / 8.0, 0.04);
  EXPECT_NEAR(hits[3] / double(n), 5 / 8.0, 0.04);
  EXPECT_EQ(hits[4], 0);  // weight 0 only serves when nothing else can
}

TEST_F(AccountPoolTest, ClearlyBetterScoreWins) {
  make({account(1, "slow"), account(2, "fast")});
  pool->record(1, {FailureClass::kNone, std::nullopt, 3000ms}, now);  // score 0.25
  pool->record(2, {FailureClass::kNone, std::nullopt, 50ms}, now);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(pick_id(), 2);
}

TEST_F(AccountPoolTest, ConcurrencyCapIsRespectedAndLeasesReleaseIt) {
  make({account(1, "a", 1, 2)});
  auto s1 = pick(), s2 = pick();
  ASSERT_TRUE(s1.account && s2.account);
  EXPECT_EQ(status_of(1).in_flight, 2);
  auto s3 = pick();
  EXPECT_EQ(s3.account, nullptr);
  EXPECT_FALSE(s3.all_rate_limited);
  EXPECT_FALSE(s3.retry_after);
  Lease moved = std::move(s1.lease);
  EXPECT_FALSE(s1.lease);
  moved.release();
  moved.release();  // once only
  EXPECT_EQ(status_of(1).in_flight, 1);
  auto s4 = pick();
  EXPECT_TRUE(s4.account);
  s4 = Selection{};  // move-assigning over a lease releases it
  { Selection gone = std::move(s2); }
  EXPECT_EQ(status_of(1).in_flight, 0);
}

TEST_F(AccountPoolTest, SkipsExcludedDisabledAndOtherModels) {
  auto other = account(3, "other-model");
  other.models = {"gpt-4o"};
  auto off = account(4, "off");
  off.enabled = false;
  make({account(1, "a"), account(2, "b"), other, off});
  for (int i = 0; i < 100; ++i) ASSERT_EQ(pick_id("", {1}), 2);
  EXPECT_EQ(pick_id("", {1, 2}), -1);
  EXPECT_EQ(pool->select(snap, "gpt-4o", "", {1, 2}, now).account->id, 3);
}

TEST_F(AccountPoolTest, AffinitySticksWhileHealthy) {
  make({account(1, "a"), account(2, "b"), account(3, "c")});
  std::map<std::string, std::int64_t> first;
  for (int turn = 0; turn < 5; ++turn) {
    for (int s = 0; s < 50; ++s) {
      std::string key = "session-" + std::to_string(s);
      auto id = pick_id(key);
      if (turn == 0) first[key] = id;
      ASSERT_EQ(id, first[key]) << key << " turn " << turn;
      now += 10ms;
    }
  }
  std::set<std::int64_t> used;
  for (auto& [k, id] : first) used.insert(id);
  EXPECT_GT(used.size(), 1u);  // sessions spread over the accounts
}

TEST_F(AccountPoolTest, AffinityMovesOnceOnCoolDownAndStaysOnTheNewAccount) {
  make({account(1, "a"), account(2, "b"), account(3, "c")});
  const auto home = pick_id("s1");
  pool->record(home, fail(FailureClass::kServerError), now);
  const auto moved = pick_id("s1");
  ASSERT_NE(moved, home);
  ASSERT_NE(moved, -1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(pick_id("s1"), moved);
  now += 2s;  // the old account is half-open, then healthy again
  heal(home);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(pick_id("s1"), moved);
}

TEST_F(AccountPoolTest, AffinityIsNotReboundWhenTheAccountIsOnlyBusy) {
  make({account(1, "a", 1, 1), account(2, "b", 1, 1)});
  auto first = pick("s1");
  const auto home = first.account->id;
  auto second = pick("s1");  // home is at its cap: this request goes elsewhere
  ASSERT_TRUE(second.account);
  EXPECT_NE(second.account->id, home);
  first.lease.release();
  second.lease.release();
  EXPECT_EQ(pick_id("s1"), home);  // the conversation stayed where its cache is
}

TEST_F(AccountPoolTest, AffinityIsNotReboundWhenTheAccountWasExcludedButIsHealthy) {
  make({account(1, "a"), account(2, "b")});
  const auto home = pick_id("s1");
  const auto other = home == 1 ? 2 : 1;
  EXPECT_EQ(pick_id("s1", {home}), other);
  EXPECT_EQ(pick_id("s1"), home);
}

TEST_F(AccountPoolTest, AffinityMovesWhenTheAccountIsDisabledOrRemoved) {
  make({account(1, "a"), account(2, "b"), account(3, "c")});
  const auto home = pick_id("s1");
  pool->record(home, fail(FailureClass::kAuth), now);
  const auto second = pick_id("s1");
  ASSERT_NE(second, home);
  std::erase_if(snap.accounts, [&](const auto& a) { return a.id == second; });
  pool->sync(snap, now);
  const auto third = pick_id("s1");
  EXPECT_NE(third, second);
  EXPECT_NE(third, home);
  EXPECT_EQ(pick_id("s1"), third);
}

TEST_F(AccountPoolTest, AllRateLimitedReportsTheSoonestReset) {
  make({account(1, "a"), account(2, "b")});
  pool->record(1, fail(FailureClass::kRateLimited, 30s), now);
  pool->record(2, fail(FailureClass::kRateLimited, 9500ms), now);
  auto s = pick();
  EXPECT_EQ(s.account, nullptr);
  EXPECT_TRUE(s.all_rate_limited);
  EXPECT_EQ(s.retry_after, 10s);  // 9.5 s rounded up to whole seconds
  now += 9400ms;
  EXPECT_EQ(pick().retry_after, 1s);  // never less than a second
}

TEST_F(AccountPoolTest, NotAllRateLimitedWhenOneCoolsForAnotherReason) {
  make({account(1, "a"), account(2, "b"), account(3, "c")});
  pool->record(1, fail(FailureClass::kRateLimited, 30s), now);
  pool->record(2, fail(FailureClass::kServerError), now);
  pool->record(3, fail(FailureClass::kAuth), now);
  auto s = pick();
  EXPECT_EQ(s.account, nullptr);
  EXPECT_FALSE(s.all_rate_limited);
  EXPECT_EQ(s.retry_after, 1s);  // the 5xx window reopens first
  auto only_429 = pick("", {2, 3});
  EXPECT_TRUE(only_429.all_rate_limited);  // the excluded ones do not count
  EXPECT_EQ(only_429.retry_after, 30s);
}

TEST_F(AccountPoolTest, NoRetryAfterWhenEverythingIsDisabled) {
  make({account(1, "a")});
  pool->record(1, fail(FailureClass::kAuth), now);
  auto s = pick();
  EXPECT_EQ(s.account, nullptr);
  EXPECT_FALSE(s.all_rate_limited);
  EXPECT_FALSE(s.retry_after);
}

TEST_F(AccountPoolTest, HalfOpenLetsOneProbeThroughAtATime) {
  make({account(1, "a")});
  pool->record(1, fail(FailureClass::kServerError), now);
  EXPECT_EQ(pick_id(), -1);
  now += 1s;
  auto probe = pick();
  ASSERT_TRUE(probe.account);
  EXPECT_TRUE(probe.probe);
  EXPECT_EQ(pick_id(), -1);  // while the probe is out
  EXPECT_TRUE(pool->due_for_probe(now).empty());
  pool->record(1, kOk, now);
  probe.lease.release();
  auto second = pick();
  EXPECT_TRUE(second.probe);  // two successes needed
  pool->record(1, kOk, now);
  second.lease.release();
  auto normal = pick();
  EXPECT_FALSE(normal.probe);
  EXPECT_EQ(status_of(1).state, HealthState::kHealthy);
}

// An attempt that never reached the account (its egress failed) gives the trial back without a
// verdict: the account stays half-open and the next request is its trial.
TEST_F(AccountPoolTest, ForgoGivesAHalfOpenTrialBackWithoutAVerdict) {
  make({account(1, "a")});
  pool->record(1, fail(FailureClass::kServerError), now);
  now += 1s;
  auto probe = pick();
  ASSERT_TRUE(probe.probe);
  EXPECT_EQ(pick_id(), -1);
  pool->forgo(1);
  probe.lease.release();
  auto again = pick();
  ASSERT_TRUE(again.account);
  EXPECT_TRUE(again.probe);
  EXPECT_EQ(status_of(1).state, HealthState::kHalfOpen);
}

TEST_F(AccountPoolTest, HealthyAccountsBeatHalfOpenOnes) {
  make({account(1, "a"), account(2, "b")});
  pool->record(1, fail(FailureClass::kServerError), now);
  now += 1s;
  for (int i = 0; i < 50; ++i) ASSERT_EQ(pick_id(), 2);
}

TEST_F(AccountPoolTest, DueForProbe) {
  cfg.probe_disabled = false;
  make({account(1, "cooling"), account(2, "disabled"), account(3, "fine")});
  pool->record(1, fail(FailureClass::kTimeout), now);
  pool->record(2, fail(FailureClass::kAuth), now);
  EXPECT_TRUE(pool->due_for_probe(now).empty());
  now += 2s;
  EXPECT_EQ(pool->due_for_probe(now), std::vector<std::int64_t>{1});
  EXPECT_TRUE(pool->due_for_probe(now).empty());  // marked until its result comes
  pool->record(1, fail(FailureClass::kTimeout), now);
  now += 4s;  // the doubled window
  EXPECT_EQ(pool->due_for_probe(now), std::vector<std::int64_t>{1});
}

TEST_F(AccountPoolTest, DueForProbeIncludesDisabledWhenConfigured) {
  cfg.probe_disabled = true;
  make({account(1, "a")});
  pool->record(1, fail(FailureClass::kAuth), now);
  EXPECT_EQ(pool->due_for_probe(now), std::vector<std::int64_t>{1});
  EXPECT_TRUE(pool->due_for_probe(now).empty());
  pool->record_probe(1, fail(FailureClass::kAuth), now);
  EXPECT_EQ(status_of(1).state, HealthState::kDisabled);
  EXPECT_EQ(pool->due_for_probe(now), std::vector<std::int64_t>{1});
  pool->record_probe(1, kOk, now);
  EXPECT_EQ(status_of(1).state, HealthState::kHealthy);
  EXPECT_EQ(status_of(1).requests, 1);  // probes are not requests
  auto changes = pool->take_changes();
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes.back().to, HealthState::kHealthy);
  EXPECT_EQ(changes.back().note, "probe_ok");
}

TEST_F(AccountPoolTest, ProbeAnsweredWithAClientErrorCountsAsSuccess) {
  cfg.half_open_successes = 1;
  make({account(1, "a")});
  pool->record(1, fail(FailureClass::kServerError), now);
  now += 1s;
  ASSERT_EQ(pool->due_for_probe(now), std::vector<std::int64_t>{1});
  pool->record_probe(1, fail(FailureClass::kClientError), now);  // 404 on /v1/models
  EXPECT_EQ(status_of(1).state, HealthState::kHealthy);
  pool->record(1, fail(FailureClass::kServerError), now);
  now += 2s;
  ASSERT_EQ(pool->due_for_probe(now), std::vector<std::int64_t>{1});
  pool->record_probe(1, fail(FailureClass::kServerError), now);
  EXPECT_EQ(status_of(1).state, HealthState::kCooling);
}

TEST_F(AccountPoolTest, SyncAddsRemovesAndAppliesOperatorEnable) {
  make({account(1, "a"), account(2, "b")});
  EXPECT_EQ(pool->status(now).size(), 2u);
  snap.accounts.push_back(account(3, "c"));
  pool->sync(snap, now);
  EXPECT_EQ(pool->status(now).size(), 3u);
  auto lease = pick("", {1, 3}).lease;  // on b, which is then removed
  snap.accounts.erase(snap.accounts.begin() + 1);
  pool->sync(snap, now);
  ASSERT_EQ(pool->status(now).size(), 2u);
  lease.release();  // harmless for a forgotten account

  pool->record(1, fail(FailureClass::kAuth), now);
  pool->sync(snap, now);  // nothing changed: still disabled
  EXPECT_EQ(status_of(1).state, HealthState::kDisabled);
  snap.accounts[0].enabled_at = 1'700'000'000;  // account enable
  pool->sync(snap, now);
  EXPECT_EQ(status_of(1).state, HealthState::kHealthy);
  auto changes = pool->take_changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].from, HealthState::kDisabled);
  EXPECT_EQ(changes[1].to, HealthState::kHealthy);
  EXPECT_EQ(changes[1].note, "operator_enable");
  EXPECT_EQ(changes[1].account_name, "a");
}

TEST_F(AccountPoolTest, StaleSnapshotsDoNotResurrectAccounts) {
  snap.version = 1;
  make({account(1, "a"), account(2, "b")});
  store::Snapshot old = snap;
  snap.version = 2;
  snap.accounts.pop_back();  // b removed
  pool->sync(snap, now);
  for (int i = 0; i < 50; ++i)  // a request still holding version 1
    ASSERT_EQ(pool->select(old, "gpt-5", "", {}, now).account->id, 1);
  EXPECT_EQ(pool->status(now).size(), 1u);

  store::Snapshot next = snap;  // published before the pool's sync caught up
  next.version = 3;
  next.accounts.push_back(account(3, "c"));
  EXPECT_EQ(pool->select(next, "gpt-5", "", {1}, now).account->id, 3);
}

TEST_F(AccountPoolTest, TakeChangesRecordsTransitionsInOrder) {
  make({account(1, "a")});
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  pool->record(1, kOk, now);  // no transition
  pool->record(1, fail(FailureClass::kServerError), now);
  now += 5s;  // the window ended 4 s ago
  pool->record(1, kOk, now);
  pool->record(1, kOk, now);
  auto c = pool->take_changes();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].from, HealthState::kHealthy);
  EXPECT_EQ(c[0].to, HealthState::kCooling);
  EXPECT_EQ(c[0].cause, FailureClass::kServerError);
  EXPECT_EQ(c[0].account_id, 1);
  EXPECT_NEAR(c[0].at_unix_ms, wall, 2000);
  EXPECT_EQ(c[1].to, HealthState::kHalfOpen);
  EXPECT_EQ(c[1].note, "window_over");
  EXPECT_NEAR(c[1].at_unix_ms, wall - 4000, 1000);  // dated when it ended, not when seen
  EXPECT_EQ(c[2].from, HealthState::kHalfOpen);
  EXPECT_EQ(c[2].to, HealthState::kHealthy);
  EXPECT_EQ(c[2].note, "probe_ok");
  EXPECT_TRUE(pool->take_changes().empty());
}

TEST_F(AccountPoolTest, StatusFields) {
  make({account(2, "zeta"), account(1, "alpha")});
  auto lease = pick("", {2}).lease;
  pool->record(1, {FailureClass::kNone, std::nullopt, 300ms}, now);
  pool->record_usage(1, 1000, 750);
  pool->record(2, fail(FailureClass::kRateLimited, 60s), now);
  auto st = pool->status(now);
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].name, "alpha");  // sorted by name
  EXPECT_EQ(st[0].state, HealthState::kHealthy);
  EXPECT_EQ(st[0].in_flight, 1);
  EXPECT_EQ(st[0].requests, 1);
  EXPECT_EQ(st[0].input_tokens, 1000);
  EXPECT_EQ(st[0].cached_tokens, 750);
  EXPECT_DOUBLE_EQ(st[0].ttfb_ms, 300);
  EXPECT_DOUBLE_EQ(st[0].score, 1 / 1.3);
  EXPECT_EQ(st[0].cooling_until_unix_ms, 0);
  EXPECT_EQ(st[1].name, "zeta");
  EXPECT_EQ(st[1].state, HealthState::kCooling);
  EXPECT_EQ(st[1].score, 0);
  EXPECT_DOUBLE_EQ(st[1].error_rate, 0.2);
  EXPECT_EQ(st[1].last_failure, FailureClass::kRateLimited);
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  EXPECT_NEAR(st[1].cooling_until_unix_ms, wall + 60'000, 2000);
}

TEST_F(AccountPoolTest, ConcurrentUseKeepsCountsConsistent) {
  make({account(1, "a", 1, 3), account(2, "b", 2, 3)});
  std::atomic<std::int64_t> served{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto s = pool->select(snap, "gpt-5", "k" + std::to_string(i % 50), {}, now);
        if (!s.account) continue;  // both accounts at their cap for a moment
        ++served;
        pool->record(s.account->id, kOk, now);
        pool->record_usage(s.account->id, 10, 5);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::int64_t requests = 0, input = 0;
  for (auto& s : pool->status(now)) {
    EXPECT_EQ(s.in_flight, 0);
    requests += s.requests;
    input += s.input_tokens;
  }
  EXPECT_GT(served.load(), 0);
  EXPECT_EQ(requests, served.load());
  EXPECT_EQ(input, 10 * served.load());
}

// --- verdicts shared between nodes (adopt_shared, local_verdicts) ---

SharedVerdict cooling(std::int64_t until, std::int64_t at,
                      FailureClass cause = FailureClass::kServerError) {
  return {HealthState::kCooling, until, cause, at};
}
SharedVerdict disabled(std::int64_t at) {
  return {HealthState::kDisabled, 0, FailureClass::kAuth, at};
}

TEST_F(AccountPoolTest, AdoptedCoolingSkipsTheAccountUntilItsEnd) {
  make({account(1, "a"), account(2, "b")});
  const auto wall = unix_now_ms();
  ASSERT_TRUE(pool->adopt_shared(1, cooling(wall + 30'000, wall), now));
  EXPECT_EQ(status_of(1).state, HealthState::kCooling);
  EXPECT_NEAR(status_of(1).cooling_until_unix_ms, wall + 30'000, 5);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(pick_id(), 2);
  auto c = pool->take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].to, HealthState::kCooling);
  EXPECT_EQ(c[0].cause, FailureClass::kServerError);
  EXPECT_EQ(c[0].note, "shared");
  now += 31s;
  EXPECT_EQ(status_of(1).state, HealthState::kHalfOpen);
}

TEST_F(AccountPoolTest, AdoptSharedNeverShortensAWindowNorAppliesEndedOnes) {
  make({account(1, "a"), account(2, "b")});
  const auto wall = unix_now_ms();
  pool->record(1, fail(FailureClass::kServerError), now);  // 1 s
  const auto local_end = status_of(1).cooling_until_unix_ms;
  EXPECT_FALSE(pool->adopt_shared(1, cooling(wall + 500, wall), now));
  EXPECT_FALSE(pool->adopt_shared(1, cooling(local_end, wall), now));  // its own, read back
  EXPECT_NEAR(status_of(1).cooling_until_unix_ms, local_end, 2);       // read at another moment
  EXPECT_TRUE(pool->adopt_shared(1, cooling(wall + 10'000, wall), now));
  EXPECT_NEAR(status_of(1).cooling_until_unix_ms, wall + 10'000, 5);

  EXPECT_FALSE(pool->adopt_shared(2, cooling(wall - 1, wall - 2'000), now));
  EXPECT_EQ(status_of(2).state, HealthState::kHealthy);
  EXPECT_FALSE(pool->adopt_shared(99, cooling(wall + 10'000, wall), now));  // unknown account
}

TEST_F(AccountPoolTest, LocalVerdictsAreThisNodesOwnAndStable) {
  make({account(1, "a"), account(2, "b"), account(3, "c")});
  const auto wall = unix_now_ms();
  pool->record(1, fail(FailureClass::kServerError), now);
  pool->adopt_shared(2, cooling(wall + 30'000, wall), now);
  pool->record(3, fail(FailureClass::kAuth), now);
  const auto v = pool->local_verdicts(now);
  ASSERT_EQ(v.size(), 2u);  // not the adopted one
  EXPECT_EQ(v[0].first, 1);
  EXPECT_EQ(v[0].second.state, HealthState::kCooling);
  EXPECT_EQ(v[0].second.cause, FailureClass::kServerError);
  // Both convert the same steady-clock end to wall time, at two moments: they may differ by 1 ms.
  EXPECT_NEAR(v[0].second.until_unix_ms, status_of(1).cooling_until_unix_ms, 2);
  EXPECT_NEAR(v[0].second.at_unix_ms, wall, 1000);
  EXPECT_EQ(v[1].first, 3);
  EXPECT_EQ(v[1].second.state, HealthState::kDisabled);
  now += 100ms;
  EXPECT_EQ(pool->local_verdicts(now), v);  // the same values while they stand
  now += 1s;                                // account 1's window is over
  ASSERT_EQ(pool->local_verdicts(now).size(), 1u);

  // A window extended by an adopted verdict is no longer this node's to publish.
  pool->record(2, fail(FailureClass::kServerError), now + 40s);
  EXPECT_EQ(pool->local_verdicts(now + 40s).size(), 2u);
  pool->adopt_shared(2, cooling(unix_now_ms() + 120'000, unix_now_ms()), now + 40s);
  EXPECT_EQ(pool->local_verdicts(now + 40s).size(), 1u);
}

TEST_F(AccountPoolTest, AdoptedWindowSetsTheBackoffLevel) {
  make({account(1, "a")});
  const auto wall = unix_now_ms();
  // 4 s of server_error (base 1 s) is the third failure's window: the next one here is 8 s.
  ASSERT_TRUE(pool->adopt_shared(1, cooling(wall + 4'000, wall), now));
  now += 5s;
  pool->record(1, fail(FailureClass::kServerError), now);
  EXPECT_NEAR(status_of(1).cooling_until_unix_ms, unix_now_ms() + 8'000, 50);
}

TEST_F(AccountPoolTest, SharedDisableYieldsToANewerOperatorEnable) {
  const auto wall = unix_now_ms();
  auto a = account(1, "a");
  a.enabled_at = wall;
  make({a, account(2, "b")});
  EXPECT_FALSE(pool->adopt_shared(1, disabled(wall - 1'000), now));  // before the enable
  EXPECT_EQ(status_of(1).state, HealthState::kHealthy);
  ASSERT_TRUE(pool->adopt_shared(1, disabled(wall + 1), now));
  EXPECT_EQ(status_of(1).state, HealthState::kDisabled);
  EXPECT_EQ(status_of(1).last_failure, FailureClass::kAuth);
  EXPECT_TRUE(pool->local_verdicts(now).empty());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(pick_id(), 2);
  EXPECT_FALSE(pool->adopt_shared(1, cooling(wall + 30'000, wall + 2), now));  // disabled wins

  snap.accounts[0].enabled_at = wall + 5;  // account enable
  pool->sync(snap, now);
  EXPECT_EQ(status_of(1).state, HealthState::kHealthy);
  EXPECT_FALSE(pool->adopt_shared(1, disabled(wall + 1), now));
  EXPECT_EQ(status_of(1).state, HealthState::kHealthy);
  EXPECT_TRUE(pool->adopt_shared(1, disabled(wall + 6), now));  // a newer failure
}

TEST_F(AccountPoolTest, SharedDisableDoesNotUndoALaterLocalHeal) {
  cfg.probe_disabled = true;
  make({account(1, "a")});
  const auto wall = unix_now_ms();
  ASSERT_TRUE(pool->adopt_shared(1, disabled(wall - 10), now));
  ASSERT_EQ(pool->due_for_probe(now), std::vector<std::int64_t>{1});
  pool->record_probe(1, kOk, now);  // the credential works here
  ASSERT_EQ(status_of(1).state, HealthState::kHealthy);
  EXPECT_FALSE(pool->adopt_shared(1, disabled(wall - 10), now));
  EXPECT_EQ(status_of(1).state, HealthState::kHealthy);
}

}  // namespace
}  // namespace relay::pool
