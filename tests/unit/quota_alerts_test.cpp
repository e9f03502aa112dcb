// Quota threshold alerts: which counter moves cross 80 % and 100 %, and what each crossing
// emits (log line, metric, webhook body).
#include "relay/quota_alerts.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace relay {
namespace {

// 2026-11-27 10:00:00.250 UTC
constexpr std::int64_t kAt = 1'795'773'600'250;

// Collects the webhook bodies.
struct Hook {
  std::mutex mu;
  std::vector<std::string> bodies;
  std::function<void(std::string)> fn() {
    return [this](std::string j) {
      std::lock_guard lock(mu);
      bodies.push_back(std::move(j));
    };
  }
};

// Routes spdlog's default logger into a string for the test's scope.
class CapturedLog {
 public:
  CapturedLog() : old_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("[%l] %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(old_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> old_;
};

std::string metrics(const QuotaAlerts& a) {
  std::string out;
  a.render_metrics(out);
  return out;
}

TEST(QuotaAlertsThreshold, IsTheCeilingOfThePercentage) {
  EXPECT_EQ(threshold_count(5, 80), 4);
  EXPECT_EQ(threshold_count(5, 100), 5);
  EXPECT_EQ(threshold_count(3, 80), 3);  // 2.4 rounds up
  EXPECT_EQ(threshold_count(1, 80), 1);
  EXPECT_EQ(threshold_count(1000, 80), 800);
  EXPECT_EQ(threshold_count(1001, 80), 801);  // 800.8
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(threshold_count(kMax, 100), kMax);
  EXPECT_EQ(threshold_count(kMax, 80), 7'378'697'629'483'820'646);  // ...645.6 rounded up
}

TEST(QuotaAlerts, CountingUpEmitsEachThresholdOnceWithItsBody) {
  Hook hook;
  QuotaAlerts alerts(hook.fn());
  CapturedLog log;
  for (std::int64_t n = 1; n <= 7; ++n)
    alerts.on_count("team-a", "", "daily_requests", n - 1, n, 5, "2026-11-27");
  ASSERT_EQ(hook.bodies.size(), 2u);
  const std::regex body(
      R"(\{"event":"quota_threshold","tenant":"team-a","key_id":"","quota":"daily_requests",)"
      R"("threshold":(\d+),"used":(\d+),"limit":5,"period":"2026-11-27",)"
      R"("at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\})");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(hook.bodies[0], m, body)) << hook.bodies[0];
  EXPECT_EQ(m[1], "80");
  EXPECT_EQ(m[2], "4");
  ASSERT_TRUE(std::regex_match(hook.bodies[1], m, body)) << hook.bodies[1];
  EXPECT_EQ(m[1], "100");
  EXPECT_EQ(m[2], "5");

  const std::string text = log.text();
  EXPECT_NE(text.find("[warning] quota threshold: tenant=team-a key=- quota=daily_requests "
                      "threshold=80 used=4 limit=5 period=2026-11-27\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("threshold=100 used=5 limit=5"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;

  const std::string out = metrics(alerts);
  EXPECT_NE(out.find("# TYPE codex_relay_quota_alerts_total counter\n"), std::string::npos);
  EXPECT_NE(out.find("codex_relay_quota_alerts_total{tenant=\"team-a\",quota=\"daily_requests\","
                     "threshold=\"80\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("codex_relay_quota_alerts_total{tenant=\"team-a\",quota=\"daily_requests\","
                     "threshold=\"100\"} 1\n"),
            std::string::npos)
      << out;
}

TEST(QuotaAlerts, AJumpPastBothThresholdsEmitsBothAndAKeyCarriesItsId) {
  Hook hook;
  QuotaAlerts alerts(hook.fn());
  alerts.on_count("team-a", "key_3f9a1c2b7d40", "monthly_tokens", 100, 1200, 1000, "2026-11");
  ASSERT_EQ(hook.bodies.size(), 2u);
  for (const std::string& b : hook.bodies) {
    EXPECT_NE(b.find(R"("key_id":"key_3f9a1c2b7d40","quota":"monthly_tokens")"), std::string::npos)
        << b;
    EXPECT_NE(b.find(R"("used":1200,"limit":1000,"period":"2026-11")"), std::string::npos) << b;
  }
  EXPECT_NE(hook.bodies[0].find(R"("threshold":80,)"), std::string::npos);
  EXPECT_NE(hook.bodies[1].find(R"("threshold":100,)"), std::string::npos);
  // Moves that stay on one side of the thresholds, or have no limit, emit nothing more.
  alerts.on_count("team-a", "", "daily_tokens", 0, 799, 1000, "2026-11-27");
  alerts.on_count("team-a", "", "daily_tokens", 1000, 5000, 1000, "2026-11-27");
  alerts.on_count("team-a", "", "daily_tokens", 0, 5000, 0, "2026-11-27");
  EXPECT_EQ(hook.bodies.size(), 2u);
  EXPECT_NE(
      metrics(alerts).find("{tenant=\"team-a\",quota=\"monthly_tokens\",threshold=\"100\"} 1"),
      std::string::npos);
}

TEST(QuotaAlerts, WithoutAWebhookStillLogsAndCounts) {
  QuotaAlerts alerts;
  CapturedLog log;
  alerts.on_count("team-b", "", "daily_tokens", 0, 900, 1000, "2026-11-27");
  EXPECT_NE(log.text().find("quota threshold: tenant=team-b"), std::string::npos);
  EXPECT_NE(metrics(alerts).find("{tenant=\"team-b\",quota=\"daily_tokens\",threshold=\"80\"} 1"),
            std::string::npos);
}

TEST(QuotaAlerts, BodyIsEscapedJson) {
  QuotaCrossing c{"we\"ird\\", "", "daily_tokens", 80, 8, 10, "2026-11-27"};
  EXPECT_EQ(crossing_json(c, kAt),
            R"({"event":"quota_threshold","tenant":"we\"ird\\","key_id":"","quota":"daily_tokens",)"
            R"("threshold":80,"used":8,"limit":10,"period":"2026-11-27",)"
            R"("at":"2026-11-27T10:00:00.250Z"})");
}

TEST(QuotaAlerts, SeriesAreCappedAndTheRestCountAsOther) {
  QuotaAlerts alerts;
  spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);  // 1100 warn lines would drown the test output
  for (int i = 0; i < 1100; ++i)
    alerts.on_count("t" + std::to_string(i), "", "daily_requests", 0, 4, 5, "2026-11-27");
  spdlog::set_level(level);
  const std::string out = metrics(alerts);
  std::size_t samples = 0;
  for (std::size_t p = 0;
       (p = out.find("\ncodex_relay_quota_alerts_total{", p)) != std::string::npos; ++p)
    ++samples;
  EXPECT_EQ(samples, QuotaAlerts::kMaxSeries + 1);
  EXPECT_NE(out.find("{tenant=\"t999\",quota=\"daily_requests\",threshold=\"80\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(out.find("tenant=\"t1000\""), std::string::npos);
  EXPECT_NE(out.find("{tenant=\"other\",quota=\"daily_requests\",threshold=\"80\"} 100\n"),
            std::string::npos);
}

TEST(QuotaAlerts, ConcurrentCallersAreAllCounted) {
  Hook hook;
  QuotaAlerts alerts(hook.fn());
  spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&alerts] {
      for (int i = 0; i < 250; ++i)
        alerts.on_count("team-c", "", "daily_tokens", 0, 100, 100, "2026-11-27");
    });
  for (auto& t : threads) t.join();
  spdlog::set_level(level);
  EXPECT_EQ(hook.bodies.size(), 2000u);
  const std::string out = metrics(alerts);
  EXPECT_NE(out.find("{tenant=\"team-c\",quota=\"daily_tokens\",threshold=\"80\"} 1000\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{tenant=\"team-c\",quota=\"daily_tokens\",threshold=\"100\"} 1000\n"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace relay
