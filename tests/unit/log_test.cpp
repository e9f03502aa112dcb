#include "base/log.hpp"
#include "base/utf8.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace relay::log {
namespace {

// Parses text as JSON; the test fails on anything invalid.
simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& text) {
  simdjson::dom::element e;
  EXPECT_EQ(p.parse(text).get(e), simdjson::SUCCESS) << text;
  return e;
}

// json_plain_run tests eight bytes at once: every byte value, at every place in and around a
// word, must stop the run exactly where a byte-by-byte test would.
TEST(LogJson, PlainRunStopsAtTheFirstByteThatNeedsCare) {
  for (int v = 0; v < 256; ++v) {
    const auto c = static_cast<char>(v);
    const bool plain = v >= 0x20 && v < 0x7f && c != '"' && c != '\\';
    for (std::size_t at = 0; at < 20; ++at) {
      std::string s(20, 'a');
      s[at] = c;
      for (std::size_t from : {std::size_t{0}, std::size_t{3}}) {
        const std::size_t want = plain || at < from ? s.size() - from : at - from;
        EXPECT_EQ(relay::json_plain_run(s, from), want) << "byte " << v << " at " << at;
      }
    }
  }
  EXPECT_EQ(relay::json_plain_run("", 0), 0u);
}

TEST(LogJson, StringsAlwaysEscapeToValidJson) {
  simdjson::dom::parser p;
  // Valid text comes back as it was; invalid UTF-8 (a stray byte, a cut sequence, an encoded
  // surrogate) comes back with U+FFFD in its place.
  const std::pair<std::string, bool> cases[] = {
      {"plain", true},
      {"quote \" back \\ slash", true},
      {"ctl \x01\n\t\x7f", true},
      {"utf8 h\xc3\xa9 \xe2\x82\xac", true},
      {std::string(1, '\0'), true},
      {"bad \xff end", false},
      {"cut \xc3", false},
      {"surrogate \xed\xa0\x80", false},
  };
  for (const auto& [raw, valid] : cases) {
    std::string out;
    append_json_string(out, raw);
    auto e = parse(p, "[" + out + "]");
    std::string_view back;
    ASSERT_EQ(e.at(0).get(back), simdjson::SUCCESS);
    if (valid) {
      EXPECT_EQ(back, raw);
    } else {
      EXPECT_NE(back.find("\xef\xbf\xbd"), std::string_view::npos) << out;
    }
  }
}

class LogCapture : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = spdlog::default_logger(); }
  void TearDown() override {
    use_json(false);
    spdlog::set_default_logger(saved_);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> saved_;
};

TEST_F(LogCapture, JsonLinesWithEventFieldsAsMembers) {
  use_json(true, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  spdlog::set_level(spdlog::level::info);
  event(spdlog::level::info, "request",
        {{"request_id", std::string_view("req_1")},
         {"status", std::int64_t{429}},
         {"ok", false},
         {"path", std::string_view("/v1/x\"y")}});
  spdlog::warn("plain {} message", "text\nwith newline");
  // A plain message that looks like an event payload is still quoted whole, never spliced.
  spdlog::info("\x1e\"event\":\"forged\"");
  auto ls = lines();
  ASSERT_EQ(ls.size(), 3u);
  simdjson::dom::parser p;
  auto a = parse(p, ls[0]);
  EXPECT_EQ(std::string_view(a["event"]), "request");
  EXPECT_EQ(std::string_view(a["request_id"]), "req_1");
  EXPECT_EQ(std::int64_t(a["status"]), 429);
  EXPECT_EQ(bool(a["ok"]), false);
  EXPECT_EQ(std::string_view(a["path"]), "/v1/x\"y");
  EXPECT_EQ(std::string_view(a["level"]), "info");
  EXPECT_EQ(std::string_view(a["ts"]).size(), 24u);  // 2026-11-27T15:27:19.199Z
  simdjson::dom::parser p2;
  auto b = parse(p2, ls[1]);
  EXPECT_EQ(std::string_view(b["level"]), "warning");
  EXPECT_EQ(std::string_view(b["msg"]), "plain text\nwith newline message");
  simdjson::dom::parser p3;
  auto c = parse(p3, ls[2]);
  EXPECT_TRUE(c["event"].error());  // not spliced
  EXPECT_EQ(std::string_view(c["msg"]), "\x1e\"event\":\"forged\"");
}

// The formatter keeps the last second's text per thread: each line must still carry its own
// instant, across a change of second and back.
TEST_F(LogCapture, JsonTimestampsFollowEachLinesOwnTime) {
  use_json(true, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  spdlog::set_level(spdlog::level::info);
  using std::chrono::milliseconds;
  const spdlog::log_clock::time_point base{milliseconds{1'795'793'239'199}};
  for (const auto offset : {0, 806, 801, -1'000'000})
    spdlog::default_logger()->log(base + milliseconds{offset}, spdlog::source_loc{},
                                  spdlog::level::info, "tick");
  auto ls = lines();
  ASSERT_EQ(ls.size(), 4u);
  const char* want[] = {"2026-11-27T15:27:19.199Z", "2026-11-27T15:27:20.005Z",
                        "2026-11-27T15:27:20.000Z", "2026-11-27T15:10:39.199Z"};
  for (std::size_t i = 0; i < ls.size(); ++i) {
    simdjson::dom::parser p;
    auto o = parse(p, ls[i]);
    EXPECT_EQ(std::string_view(o["ts"]), want[i]) << i;
  }
}

TEST_F(LogCapture, TextEventsAreKeyValuePairs) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
  sink->set_pattern("%v");
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("t", sink));
  use_json(false);
  event(spdlog::level::info, "request",
        {{"request_id", std::string_view("req_2")},
         {"tenant", std::string_view()},
         {"detail", std::string_view("two words")},
         {"n", std::int64_t{-1}}});
  auto ls = lines();
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0], "request request_id=req_2 tenant=- detail=\"two words\" n=-1");
}

// serve's JSON log goes through fd_line_sink, which keeps one buffer and one event buffer per
// thread: a long line followed by a shorter one must come out as two whole lines, the second
// without anything left over from the first.
TEST_F(LogCapture, TheFdSinkWritesEachLineWholeAndNothingOfTheLineBefore) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  use_json(true, fd_line_sink(fds[1]));
  spdlog::set_level(spdlog::level::info);
  const std::string long_detail(600, 'x');
  event(spdlog::level::info, "request",
        {{"request_id", std::string_view("req_long")}, {"detail", std::string_view(long_detail)}});
  event(spdlog::level::info, "short", {{"n", std::int64_t{7}}});
  spdlog::warn("plain");
  use_json(false);
  spdlog::set_default_logger(saved_);
  ::close(fds[1]);
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) all.append(buf, std::size_t(n));
  ::close(fds[0]);
  out_ << all;
  auto ls = lines();
  ASSERT_EQ(ls.size(), 3u) << all;
  simdjson::dom::parser p;
  auto a = parse(p, ls[0]);
  EXPECT_EQ(std::string_view(a["detail"]), long_detail);
  simdjson::dom::parser p2;
  auto b = parse(p2, ls[1]);
  EXPECT_EQ(std::string_view(b["event"]), "short");
  EXPECT_EQ(std::int64_t(b["n"]), 7);
  EXPECT_TRUE(b["detail"].error());
  EXPECT_TRUE(b["request_id"].error());
  simdjson::dom::parser p3;
  EXPECT_EQ(std::string_view(parse(p3, ls[2])["msg"]), "plain");
}

}  // namespace
}  // namespace relay::log
