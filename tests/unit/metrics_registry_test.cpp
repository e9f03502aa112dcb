// The metrics kit: counter sums, histogram buckets, the text format's escaping, the label
// sanitizer, the series cap's "other" folding, and exact totals under concurrent updates.
#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "metrics_text_parser.hpp"

namespace relay::metrics {
namespace {

using test::parse_scrape;
using test::Scrape;

template <typename F>
Scrape scrape_of(const F& family) {
  std::string out;
  family.render(out);
  Scrape s = parse_scrape(out);
  EXPECT_TRUE(s.errors.empty()) << ::testing::PrintToString(s.errors) << "\n" << out;
  return s;
}

TEST(MetricsRegistry, CounterSumsPerLabelSetWithOneHeader) {
  CounterFamily c("req_total", "Requests.", {"status", "code"}, 10);
  c.add({"200", ""});
  c.add({"200", ""}, 2);
  c.add({"429", "tenant_rate_limited"}, 0.5);
  c.add({"200", ""}, -5);  // a counter never goes down
  c.add({"200", ""}, std::numeric_limits<double>::quiet_NaN());
  const Scrape s = scrape_of(c);
  EXPECT_EQ(s.get("req_total", {{"status", "200"}, {"code", ""}}), 3);
  EXPECT_EQ(s.get("req_total", {{"status", "429"}, {"code", "tenant_rate_limited"}}), 0.5);
  EXPECT_EQ(s.samples.size(), 2u);
  EXPECT_EQ(s.help_lines.at("req_total"), 1);
  EXPECT_EQ(s.type_lines.at("req_total"), 1);
  EXPECT_EQ(s.types.at("req_total"), "counter");
}

TEST(MetricsRegistry, SeriesAreSortedWhateverTheInsertionOrder) {
  CounterFamily a("x_total", "X.", {"k"}, 10);
  CounterFamily b("x_total", "X.", {"k"}, 10);
  for (const char* k : {"b", "a", "ab", "c"}) a.add({k});
  for (const char* k : {"c", "ab", "a", "b"}) b.add({k});
  std::string ra;
  std::string rb;
  a.render(ra);
  b.render(rb);
  EXPECT_EQ(ra, rb);
  const Scrape s = parse_scrape(ra);
  std::vector<std::string> order;
  for (const auto& sample : s.samples) order.push_back(sample.labels.at("k"));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "ab", "b", "c"}));
}

TEST(MetricsRegistry, NoLabelsAndWrongArity) {
  CounterFamily c("up_total", "Ups.", {}, 1);
  c.add({}, 4);
  EXPECT_EQ(scrape_of(c).get("up_total"), 4);
  CounterFamily two("t_total", "T.", {"a", "b"}, 10);
  EXPECT_THROW(two.add({"only-one"}), std::invalid_argument);
  EXPECT_THROW(CounterFamily("", "no name", {}, 1), std::invalid_argument);
  EXPECT_THROW(CounterFamily("n", "no room", {}, 0), std::invalid_argument);
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  // Unsorted, duplicated and infinite bounds: kept sorted and unique, +Inf added once.
  HistogramFamily h("lat_seconds", "Latency.", {"stream"},
                    {2, 0.5, 1, 1, std::numeric_limits<double>::infinity()}, 5);
  const std::vector<double> seen{0.25, 0.5, 0.75, 1, 2, 2.5, 1000};  // exact in binary
  for (double v : seen) h.observe({"true"}, v);
  h.observe({"false"}, 0.5);
  h.observe({"true"}, std::numeric_limits<double>::quiet_NaN());  // ignored
  const Scrape s = scrape_of(h);
  EXPECT_EQ(s.types.at("lat_seconds"), "histogram");
  auto bucket = [&](const char* le) {
    return s.get("lat_seconds_bucket", {{"stream", "true"}, {"le", le}});
  };
  EXPECT_EQ(bucket("0.5"), 2);  // le is inclusive: 0.25 and 0.5
  EXPECT_EQ(bucket("1"), 4);
  EXPECT_EQ(bucket("2"), 5);
  EXPECT_EQ(bucket("+Inf"), 7);
  EXPECT_EQ(s.all("lat_seconds_bucket", {{"stream", "true"}}).size(), 4u);
  double total = 0;
  for (double v : seen) total += v;
  EXPECT_EQ(s.get("lat_seconds_sum", {{"stream", "true"}}), total);
  EXPECT_EQ(s.get("lat_seconds_count", {{"stream", "true"}}), 7);
  EXPECT_EQ(s.get("lat_seconds_bucket", {{"stream", "false"}, {"le", "0.5"}}), 1);
  EXPECT_EQ(s.get("lat_seconds_count", {{"stream", "false"}}), 1);
  // Cumulative in the order written, ending at +Inf == _count.
  double last = -1;
  for (const auto& b : s.all("lat_seconds_bucket", {{"stream", "true"}})) {
    EXPECT_GE(b.value, last);
    last = b.value;
  }
  EXPECT_EQ(s.all("lat_seconds_bucket", {{"stream", "true"}}).back().labels.at("le"), "+Inf");
}

TEST(MetricsRegistry, LabelValuesAreEscaped) {
  std::string e;
  append_escaped(e, "a\\b\"c\nd");
  EXPECT_EQ(e, "a\\\\b\\\"c\\nd");

  CounterFamily c("esc_total", "Help with \\ and\nnewline.", {"v"}, 10);
  c.add({"back\\slash \"quoted\""});
  std::string out;
  c.render(out);
  EXPECT_NE(out.find("{v=\"back\\\\slash \\\"quoted\\\"\"}"), std::string::npos) << out;
  EXPECT_NE(out.find("# HELP esc_total Help with \\\\ and\\nnewline.\n"), std::string::npos);
  const Scrape s = parse_scrape(out);
  EXPECT_TRUE(s.errors.empty());
  EXPECT_EQ(s.get("esc_total", {{"v", "back\\slash \"quoted\""}}), 1);
}

TEST(MetricsRegistry, SanitizerCutsOnACharacterBoundaryAndReplacesBadBytes) {
  const std::string a62(62, 'a');
  const std::string e_acute = "\xC3\xA9";                                // 2 bytes
  EXPECT_EQ(sanitize_label_value(a62 + e_acute + "zz"), a62 + e_acute);  // exactly 64
  EXPECT_EQ(sanitize_label_value("a" + a62 + e_acute), "a" + a62);       // é would make 65
  const std::string emoji = "\xF0\x9F\x98\x80";                          // 4 bytes
  EXPECT_EQ(sanitize_label_value(std::string(61, 'b') + emoji), std::string(61, 'b'));
  EXPECT_EQ(sanitize_label_value(std::string(60, 'b') + emoji), std::string(60, 'b') + emoji);
  EXPECT_EQ(sanitize_label_value(std::string(500, 'x')).size(), kMaxLabelBytes);

  EXPECT_EQ(sanitize_label_value("gpt\n5\t\x7f"), "gpt?5??");
  EXPECT_EQ(sanitize_label_value("\xff"), "?");
  EXPECT_EQ(sanitize_label_value("\xC3"), "?");                 // truncated sequence
  EXPECT_EQ(sanitize_label_value("\xC0\xAF"), "??");            // overlong '/'
  EXPECT_EQ(sanitize_label_value("\xED\xA0\x80"), "???");       // surrogate
  EXPECT_EQ(sanitize_label_value("\xF4\x90\x80\x80"), "????");  // above U+10FFFF
  EXPECT_EQ(sanitize_label_value("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");
  const std::string dirty = std::string(40, '\x01') + "\xE2\x82" + std::string(40, 'q');
  EXPECT_EQ(sanitize_label_value(sanitize_label_value(dirty)), sanitize_label_value(dirty));

  // What goes into a family goes through the same sanitizer.
  CounterFamily c("s_total", "S.", {"model"}, 10);
  c.add({std::string(100, 'm') + "\n"});
  const Scrape s = scrape_of(c);
  ASSERT_EQ(s.samples.size(), 1u);
  EXPECT_EQ(s.samples[0].labels.at("model"), std::string(64, 'm'));
}

TEST(MetricsRegistry, SeriesCapFoldsNewLabelSetsIntoOtherKeepingTotals) {
  CounterFamily c("tok_total", "T.", {"tenant", "model"}, 5);
  double total = 0;
  for (int i = 1; i <= 20; ++i) {
    c.add({"t" + std::to_string(i), "m"}, i);
    total += i;
  }
  c.add({"t1", "m"}, 100);  // an existing series keeps counting as itself
  total += 100;
  EXPECT_EQ(c.series_count(), 5u);
  const Scrape s = scrape_of(c);
  EXPECT_EQ(s.samples.size(), 5u);
  EXPECT_EQ(s.sum("tok_total"), total);
  EXPECT_EQ(s.get("tok_total", {{"tenant", "t1"}, {"model", "m"}}), 101);
  EXPECT_EQ(s.get("tok_total", {{"tenant", "t4"}, {"model", "m"}}), 4);
  EXPECT_FALSE(s.get("tok_total", {{"tenant", "t5"}, {"model", "m"}}));
  double folded = 0;
  for (int i = 5; i <= 20; ++i) folded += i;
  EXPECT_EQ(s.get("tok_total", {{"tenant", "other"}, {"model", "other"}}), folded);
}

TEST(MetricsRegistry, CapOfOneCountsEverythingAsOther) {
  HistogramFamily h("h_seconds", "H.", {"k"}, {1}, 1);
  h.observe({"a"}, 0.5);
  h.observe({"b"}, 3);
  EXPECT_EQ(h.series_count(), 1u);
  const Scrape s = scrape_of(h);
  EXPECT_EQ(s.get("h_seconds_count", {{"k", "other"}}), 2);
  EXPECT_EQ(s.get("h_seconds_bucket", {{"k", "other"}, {"le", "1"}}), 1);
  EXPECT_EQ(s.get("h_seconds_sum", {{"k", "other"}}), 3.5);
}

TEST(MetricsRegistry, ConcurrentUpdatesKeepExactTotals) {
  CounterFamily c("c_total", "C.", {"k"}, 4);  // 3 real series, then "other"
  HistogramFamily h("h_seconds", "H.", {"k"}, {0.5, 1}, 10);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string k = "k" + std::to_string((i + t) % 6);
        c.add({k});
        h.observe({t % 2 ? "odd" : "even"}, i % 2 ? 0.25 : 0.75);
      }
    });
  }
  std::string during;  // rendering while others write must stay well-formed
  c.render(during);
  h.render(during);
  for (auto& th : threads) th.join();
  EXPECT_TRUE(parse_scrape(during).errors.empty());
  const Scrape sc = scrape_of(c);
  EXPECT_EQ(sc.sum("c_total"), kThreads * kPerThread);
  EXPECT_LE(sc.samples.size(), 4u);
  const Scrape sh = scrape_of(h);
  EXPECT_EQ(sh.sum("h_seconds_count"), kThreads * kPerThread);
  EXPECT_EQ(sh.sum("h_seconds_bucket", {{"le", "0.5"}}), kThreads * kPerThread / 2);
  // Half the observations are 0.25 and half 0.75: exact in binary, so the sum is exact too.
  EXPECT_EQ(sh.sum("h_seconds_sum"), kThreads * kPerThread * 0.5);
}

TEST(MetricsRegistry, ValuesAndSamplesInTextFormat) {
  std::string out;
  append_value(out, std::numeric_limits<double>::infinity());
  out += ' ';
  append_value(out, std::numeric_limits<double>::quiet_NaN());
  out += ' ';
  append_value(out, 0.005);
  out += ' ';
  append_value(out, 12345678);
  EXPECT_EQ(out, "+Inf NaN 0.005 12345678");
  out.clear();
  append_sample(out, "g", {{"a", "x\"y"}, {"b", ""}}, 1.5);
  EXPECT_EQ(out, "g{a=\"x\\\"y\",b=\"\"} 1.5\n");
}

}  // namespace
}  // namespace relay::metrics
