// Request metrics from usage records: responses by status and code, the latency histograms,
// tokens by tenant, model and kind (bounded), incomplete usage, and nothing else of the record.
#include "metrics/request_metrics.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "metrics_text_parser.hpp"

namespace relay::metrics {
namespace {

using records::UsageRecord;
using test::parse_scrape;
using test::Scrape;

UsageRecord record(std::int64_t status, std::string code = "", bool stream = false) {
  UsageRecord r;
  r.status = status;
  r.error_code = std::move(code);
  r.stream = stream;
  r.tenant = "acme";
  r.model = "gpt-5";
  r.ttfb_ms = 40;
  r.duration_ms = 1500;
  return r;
}

Scrape scrape_of(const RequestMetrics& m) {
  std::string out;
  m.render(out);
  Scrape s = parse_scrape(out);
  EXPECT_TRUE(s.errors.empty()) << ::testing::PrintToString(s.errors) << "\n" << out;
  return s;
}

TEST(RequestMetrics, ResponsesByStatusAndCode) {
  RequestMetrics m;
  m.observe(record(200));
  m.observe(record(200));
  m.observe(record(429, "tenant_rate_limited"));
  m.observe(record(0));  // the client left before any status was sent
  const Scrape s = scrape_of(m);
  EXPECT_EQ(s.types.at("codex_relay_responses_total"), "counter");
  EXPECT_EQ(s.get("codex_relay_responses_total", {{"status", "200"}, {"code", ""}}), 2);
  EXPECT_EQ(
      s.get("codex_relay_responses_total", {{"status", "429"}, {"code", "tenant_rate_limited"}}),
      1);
  EXPECT_EQ(s.get("codex_relay_responses_total", {{"status", "0"}, {"code", ""}}), 1);
  EXPECT_EQ(s.sum("codex_relay_responses_total"), 4);
}

TEST(RequestMetrics, LatencyHistogramsByStream) {
  RequestMetrics m;
  auto streamed = record(200, "", true);
  streamed.ttfb_ms = 30;  // 0.03 s: first counted at le=0.05
  streamed.duration_ms = 95'000;
  m.observe(streamed);
  auto refused = record(401, "invalid_api_key");
  refused.ttfb_ms = 5;  // exactly on a bound: le is inclusive
  refused.duration_ms = 5;
  m.observe(refused);
  auto gone = record(0);
  gone.ttfb_ms = -1;  // no byte reached the client: no ttfb sample, still a duration
  gone.duration_ms = 400'000;
  m.observe(gone);

  const Scrape s = scrape_of(m);
  const std::vector<std::string> les{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                     "0.5",   "1",    "2.5",   "5",    "10",  "30",
                                     "60",    "120",  "300",   "+Inf"};
  std::vector<std::string> written;
  for (const auto& b : s.all("codex_relay_ttfb_seconds_bucket", {{"stream", "true"}}))
    written.push_back(b.labels.at("le"));
  EXPECT_EQ(written, les);

  auto ttfb = [&](const char* stream, const char* le) {
    return s.get("codex_relay_ttfb_seconds_bucket", {{"stream", stream}, {"le", le}});
  };
  EXPECT_EQ(ttfb("true", "0.025"), 0);
  EXPECT_EQ(ttfb("true", "0.05"), 1);
  EXPECT_EQ(ttfb("false", "0.005"), 1);
  EXPECT_EQ(s.get("codex_relay_ttfb_seconds_count", {{"stream", "false"}}), 1);
  EXPECT_EQ(s.get("codex_relay_ttfb_seconds_sum", {{"stream", "true"}}), 0.03);

  auto duration = [&](const char* stream, const char* le) {
    return s.get("codex_relay_request_duration_seconds_bucket", {{"stream", stream}, {"le", le}});
  };
  EXPECT_EQ(duration("true", "60"), 0);
  EXPECT_EQ(duration("true", "120"), 1);
  EXPECT_EQ(duration("false", "0.005"), 1);
  EXPECT_EQ(duration("false", "300"), 1);  // 400 s is past the last bound
  EXPECT_EQ(duration("false", "+Inf"), 2);
  EXPECT_EQ(s.get("codex_relay_request_duration_seconds_count", {{"stream", "false"}}), 2);
  EXPECT_DOUBLE_EQ(
      s.get("codex_relay_request_duration_seconds_sum", {{"stream", "false"}}).value_or(0),
      400.005);
}

TEST(RequestMetrics, TokensByTenantModelAndKind) {
  RequestMetrics m;
  auto a = record(200);
  a.input_tokens = 1000;
  a.cached_tokens = 600;
  a.output_tokens = 200;
  a.reasoning_tokens = 50;
  m.observe(a);
  m.observe(a);
  auto b = record(200);
  b.model = "gpt-5-mini";
  b.input_tokens = 10;  // no output: no output series
  m.observe(b);
  auto anon = record(401, "invalid_api_key");
  anon.tenant = "";  // refused before identify
  anon.input_tokens = 7;
  m.observe(anon);
  m.observe(record(500, "upstream_error"));  // no tokens at all: no series

  const Scrape s = scrape_of(m);
  auto tokens = [&](const char* tenant, const char* model, const char* kind) {
    return s.get("codex_relay_tokens_total",
                 {{"tenant", tenant}, {"model", model}, {"kind", kind}});
  };
  EXPECT_EQ(tokens("acme", "gpt-5", "input"), 2000);
  EXPECT_EQ(tokens("acme", "gpt-5", "cached"), 1200);
  EXPECT_EQ(tokens("acme", "gpt-5", "output"), 400);
  EXPECT_EQ(tokens("acme", "gpt-5", "reasoning"), 100);
  EXPECT_EQ(tokens("acme", "gpt-5-mini", "input"), 10);
  EXPECT_FALSE(tokens("acme", "gpt-5-mini", "output"));
  EXPECT_EQ(tokens("", "gpt-5", "input"), 7);
  EXPECT_EQ(s.all("codex_relay_tokens_total").size(), 6u);
}

TEST(RequestMetrics, UsageIncompleteByTenant) {
  RequestMetrics m;
  auto cut = record(200, "", true);
  cut.usage_incomplete = true;
  m.observe(cut);
  m.observe(cut);
  m.observe(record(200));
  const Scrape s = scrape_of(m);
  EXPECT_EQ(s.get("codex_relay_usage_incomplete_total", {{"tenant", "acme"}}), 2);
  EXPECT_EQ(s.all("codex_relay_usage_incomplete_total").size(), 1u);
}

TEST(RequestMetrics, ClientChosenModelsAreBoundedAndTotalsKept) {
  RequestMetrics m;
  const int models = 1500;
  for (int i = 0; i < models; ++i) {
    auto r = record(200);
    r.model = "model-" + std::to_string(i) + "\n\"x\"";
    r.input_tokens = 3;
    m.observe(r);
  }
  const Scrape s = scrape_of(m);
  EXPECT_EQ(s.all("codex_relay_tokens_total").size(), kTokensMaxSeries);
  // Folding replaces every label, kind included: the family's total is what stays exact.
  EXPECT_EQ(s.sum("codex_relay_tokens_total"), 3.0 * models);
  EXPECT_EQ(s.sum("codex_relay_tokens_total", {{"kind", "input"}}), 3.0 * (kTokensMaxSeries - 1));
  EXPECT_GT(s.get("codex_relay_tokens_total",
                  {{"tenant", "other"}, {"model", "other"}, {"kind", "other"}})
                .value_or(0),
            0);
  EXPECT_EQ(s.get("codex_relay_tokens_total",
                  {{"tenant", "acme"}, {"model", "model-0?\"x\""}, {"kind", "input"}}),
            3);
}

TEST(RequestMetrics, NoOtherFieldOfTheRecordIsExposed) {
  RequestMetrics m;
  auto r = record(200, "", true);
  r.request_id = "req_SECRETID";
  r.key_id = "key_SECRETKEYID";
  r.node = "node-SECRET";
  r.region = "region-SECRET";
  r.account = "acct-SECRET";
  r.egress = "egress-SECRET";
  r.endpoint = "/v1/responses-SECRET";
  r.client_family = "family-SECRET";
  r.input_tokens = 1;
  r.usage_incomplete = true;
  m.observe(r);
  std::string out;
  m.render(out);
  EXPECT_EQ(out.find("SECRET"), std::string::npos) << out;
  EXPECT_NE(out.find("acme"), std::string::npos);
}

TEST(RequestMetrics, ConcurrentObserversKeepExactTotals) {
  RequestMetrics m;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = record(i % 2 ? 200 : 502, i % 2 ? "" : "upstream_error", t % 2 == 0);
        r.tenant = "tenant-" + std::to_string(t);
        r.input_tokens = 2;
        r.output_tokens = 1;
        m.observe(r);
      }
    });
  }
  for (auto& th : threads) th.join();
  const Scrape s = scrape_of(m);
  EXPECT_EQ(s.sum("codex_relay_responses_total"), kThreads * kPerThread);
  EXPECT_EQ(s.get("codex_relay_responses_total", {{"status", "502"}, {"code", "upstream_error"}}),
            kThreads * kPerThread / 2);
  EXPECT_EQ(s.sum("codex_relay_request_duration_seconds_count"), kThreads * kPerThread);
  EXPECT_EQ(s.sum("codex_relay_tokens_total", {{"kind", "input"}}), 2.0 * kThreads * kPerThread);
  EXPECT_EQ(s.get("codex_relay_tokens_total",
                  {{"tenant", "tenant-3"}, {"model", "gpt-5"}, {"kind", "output"}}),
            kPerThread);
}

}  // namespace
}  // namespace relay::metrics
