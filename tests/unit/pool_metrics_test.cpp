// The pool's gauges: one series per account and state with exactly one 1, scores and slots in
// flight as the pool reports them, egress up/down, and no credential or proxy URL in a scrape.
#include "app/pool_metrics.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "metrics/request_metrics.hpp"
#include "metrics_text_parser.hpp"

namespace relay::app {
namespace {

using namespace std::chrono_literals;
using pool::FailureClass;
using test::parse_scrape;
using test::Scrape;

store::SnapshotAccount account(std::int64_t id, std::string name) {
  store::SnapshotAccount a;
  a.id = id;
  a.name = std::move(name);
  a.credential = "sk-CREDENTIAL-" + std::to_string(id);
  return a;
}

store::SnapshotEgress egress(std::int64_t id, std::string name) {
  store::SnapshotEgress e;
  e.id = id;
  e.name = std::move(name);
  e.url = "http://user:PROXYPASS@127.0.0.1:" + std::to_string(3000 + id);
  return e;
}

class PoolMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto healthy = account(1, "healthy-acct");
    healthy.egresses = {egress(11, "eu-1"), egress(12, "us-1")};
    auto other = account(5, "other-acct");
    other.egresses = {egress(13, "eu-1")};  // same egress name as healthy-acct's
    snap.accounts = {healthy, account(2, "cooling-acct"), account(3, "half-open-acct"),
                     account(4, "disabled-acct"), other};
    accounts.sync(snap, now);
    egresses.sync(snap);
    accounts.record(2, fail(FailureClass::kServerError), now);
    accounts.record(3, fail(FailureClass::kServerError), now - 1h);  // its window is over
    accounts.record(4, fail(FailureClass::kAuth), now);
    egresses.record(12, false, "connection refused");
  }
  static pool::AttemptOutcome fail(FailureClass c) { return {c, std::nullopt, std::nullopt}; }
  std::string render() const {
    std::string out;
    render_pool_metrics(out, accounts, egresses, now);
    return out;
  }
  Scrape scrape() const {
    const std::string out = render();
    Scrape s = parse_scrape(out);
    EXPECT_TRUE(s.errors.empty()) << ::testing::PrintToString(s.errors) << "\n" << out;
    return s;
  }

  pool::TimePoint now = pool::TimePoint{} + 1000h;  // a fake clock
  store::Snapshot snap;
  pool::AccountPool accounts{pool::PoolConfig{}};
  pool::EgressPool egresses{"", 10s};
};

TEST_F(PoolMetricsTest, OneStateSeriesPerAccountAndStateWithTheCurrentOneAtOne) {
  const Scrape s = scrape();
  EXPECT_EQ(s.types.at("codex_relay_account_state"), "gauge");
  EXPECT_EQ(s.help_lines.at("codex_relay_account_state"), 1);
  const std::map<std::string, std::string> want{{"healthy-acct", "healthy"},
                                                {"cooling-acct", "cooling"},
                                                {"half-open-acct", "half_open"},
                                                {"disabled-acct", "disabled"},
                                                {"other-acct", "healthy"}};
  for (const auto& [name, state] : want) {
    const auto series = s.all("codex_relay_account_state", {{"account", name}});
    EXPECT_EQ(series.size(), 4u) << name;
    for (const auto& sample : series)
      EXPECT_EQ(sample.value, sample.labels.at("state") == state ? 1 : 0)
          << name << " " << sample.labels.at("state");
  }
  EXPECT_EQ(s.all("codex_relay_account_state").size(), 4 * want.size());
}

TEST_F(PoolMetricsTest, ScoreAndInFlightFollowThePool) {
  auto held = accounts.select(snap, "gpt-5", "", {2, 3, 4, 5}, now);
  ASSERT_NE(held.account, nullptr);
  ASSERT_EQ(held.account->id, 1);
  const Scrape s = scrape();
  EXPECT_EQ(s.get("codex_relay_account_in_flight", {{"account", "healthy-acct"}}), 1);
  EXPECT_EQ(s.get("codex_relay_account_in_flight", {{"account", "cooling-acct"}}), 0);
  for (const auto& a : accounts.status(now))
    EXPECT_EQ(s.get("codex_relay_account_health_score", {{"account", a.name}}), a.score) << a.name;
  EXPECT_GT(s.get("codex_relay_account_health_score", {{"account", "healthy-acct"}}).value_or(0),
            0);
  EXPECT_EQ(s.get("codex_relay_account_health_score", {{"account", "cooling-acct"}}), 0);
  EXPECT_EQ(s.get("codex_relay_account_health_score", {{"account", "disabled-acct"}}), 0);

  held.lease.release();
  EXPECT_EQ(scrape().get("codex_relay_account_in_flight", {{"account", "healthy-acct"}}), 0);
}

TEST_F(PoolMetricsTest, EgressUpAndDown) {
  Scrape s = scrape();
  auto state = [&](const char* e, const char* a, const char* st) {
    return s.get("codex_relay_egress_state", {{"egress", e}, {"account", a}, {"state", st}});
  };
  EXPECT_EQ(state("eu-1", "healthy-acct", "up"), 1);
  EXPECT_EQ(state("eu-1", "healthy-acct", "down"), 0);
  EXPECT_EQ(state("us-1", "healthy-acct", "up"), 0);
  EXPECT_EQ(state("us-1", "healthy-acct", "down"), 1);
  EXPECT_EQ(state("eu-1", "other-acct", "up"), 1);
  EXPECT_EQ(s.all("codex_relay_egress_state").size(), 6u);

  egresses.record(12, true, {});
  s = scrape();
  EXPECT_EQ(state("us-1", "healthy-acct", "up"), 1);
  EXPECT_EQ(state("us-1", "healthy-acct", "down"), 0);
}

// The whole admin scrape, pool and requests together, as docs/metrics.md shows it. With
// CODEX_RELAY_METRICS_SAMPLE set, the text is written to that file (how the doc's sample was
// made).
TEST_F(PoolMetricsTest, FullScrapeParsesAndHoldsNoSecret) {
  metrics::RequestMetrics requests;
  records::UsageRecord r;
  r.tenant = "acme";
  r.key_id = "key_KEYID";
  r.account = "healthy-acct";
  r.model = "gpt-5-codex";
  r.endpoint = "/v1/responses";
  r.stream = true;
  r.status = 200;
  r.ttfb_ms = 420;
  r.duration_ms = 8300;
  r.input_tokens = 5200;
  r.cached_tokens = 4096;
  r.output_tokens = 310;
  r.reasoning_tokens = 128;
  requests.observe(r);
  r = {};
  r.status = 401;
  r.error_code = "invalid_api_key";
  r.duration_ms = 2;
  r.ttfb_ms = 1;
  requests.observe(r);

  std::string out;
  requests.render(out);
  render_pool_metrics(out, accounts, egresses, now);
  const Scrape s = parse_scrape(out);
  EXPECT_TRUE(s.errors.empty()) << ::testing::PrintToString(s.errors);
  for (const auto& [family, count] : s.type_lines) EXPECT_EQ(count, 1) << family;
  EXPECT_EQ(s.type_lines.size(), 9u);
  for (const char* secret : {"CREDENTIAL", "PROXYPASS", "127.0.0.1", "KEYID", "/v1/"})
    EXPECT_EQ(out.find(secret), std::string::npos) << secret;
  EXPECT_EQ(s.get("codex_relay_tokens_total",
                  {{"tenant", "acme"}, {"model", "gpt-5-codex"}, {"kind", "cached"}}),
            4096);

  if (const char* path = std::getenv("CODEX_RELAY_METRICS_SAMPLE")) std::ofstream(path) << out;
}

}  // namespace
}  // namespace relay::app
