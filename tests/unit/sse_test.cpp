#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <tuple>

#include "sse/json_peek.hpp"
#include "sse/line_end.hpp"
#include "sse/sse_parser.hpp"
#include "sse/stream_tap.hpp"

namespace relay::sse {
namespace {

struct Collected {
  std::vector<std::pair<std::string, std::string>> events;
};

Collected feed_in_pieces(const std::string& stream, std::size_t piece) {
  SseParser p;
  Collected c;
  for (std::size_t i = 0; i < stream.size(); i += piece)
    p.feed(std::string_view(stream).substr(i, piece), [&](const Event& e) {
      c.events.emplace_back(std::string(e.type), std::string(e.data));
    });
  return c;
}

TEST(SseParser, ParsesEventsWhateverTheChunking) {
  std::string s =
      "event: a\ndata: {\"x\":1}\n\n: comment\n\ndata: line1\ndata: line2\n\n"
      "event: b\r\ndata:no-space\r\n\r\ndata: cr\r\rid: 7\nretry: 5\ndata: last\n\n";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    auto c = feed_in_pieces(s, piece);
    ASSERT_EQ(c.events.size(), 5u) << "piece " << piece;
    EXPECT_EQ(c.events[0], (std::pair<std::string, std::string>{"a", "{\"x\":1}"}));
    EXPECT_EQ(c.events[1].second, "line1\nline2");
    EXPECT_EQ(c.events[2], (std::pair<std::string, std::string>{"b", "no-space"}));
    EXPECT_EQ(c.events[3].second, "cr");
    EXPECT_EQ(c.events[4].second, "last");
  }
}

TEST(SseParser, BoundaryTracksPartialEvents) {
  SseParser p;
  auto none = [](const Event&) {};
  EXPECT_TRUE(p.at_boundary());
  p.feed("data: {\"a\"", none);
  EXPECT_FALSE(p.at_boundary());
  p.feed(":1}\n", none);
  EXPECT_FALSE(p.at_boundary());
  p.feed("\n", none);
  EXPECT_TRUE(p.at_boundary());
  p.feed(": keep-alive\n", none);
  EXPECT_FALSE(p.at_boundary());
  p.feed("\n", none);
  EXPECT_TRUE(p.at_boundary());
}

TEST(SseParser, OversizedEventIsTruncatedNotBuffered) {
  SseParser p(32);
  std::vector<Event> seen;
  std::size_t data_size = 0;
  bool truncated = false;
  p.feed("data: " + std::string(1000, 'x') + "\n\n", [&](const Event& e) {
    data_size = e.data.size();
    truncated = e.truncated;
  });
  EXPECT_LE(data_size, 32u);
  EXPECT_TRUE(truncated);
}

// Events named as skipped keep only their first bytes, whatever the chunking; the rest parse as
// without it, and the lines of a skipped event still end where they did.
TEST(SseParser, SkippedNamesKeepOnlyTheFirstBytesOfTheirData) {
  const std::string s =
      "event: delta\ndata: {\"a\":\"long enough\"}\n\n"
      "event: keep\ndata: {\"b\":2}\n\n"
      "data: {\"c\":\"before the name\"}\nevent: delta\ndata: more\n\n"
      "event: delta\ndata: [DONE]\n\n"
      "event: delta\ndata: " +
      std::string(100, 'x') +
      "\n\n"
      "event: delta\nevent: keep\ndata: renamed\n\n";
  for (std::size_t piece : {1u, 3u, 1000u}) {
    SseParser p(64);
    p.skip_data_of([](std::string_view name) { return name == "delta"; });
    std::vector<std::tuple<std::string, std::string, bool, bool>> got;
    for (std::size_t i = 0; i < s.size(); i += piece)
      p.feed(std::string_view(s).substr(i, piece), [&](const Event& e) {
        got.emplace_back(std::string(e.type), std::string(e.data), e.cut, e.truncated);
      });
    using T = std::tuple<std::string, std::string, bool, bool>;
    ASSERT_EQ(got.size(), 6u) << piece;
    EXPECT_EQ(got[0], (T{"delta", "{\"a\":\"l", true, false})) << piece;
    EXPECT_EQ(got[1], (T{"keep", "{\"b\":2}", false, false})) << piece;
    EXPECT_EQ(got[2], (T{"delta", "{\"c\":\"b", true, false})) << piece;
    EXPECT_EQ(got[3], (T{"delta", "[DONE]", true, false})) << piece;
    EXPECT_EQ(got[4], (T{"delta", "xxxxxxx", true, true})) << piece;  // 100 bytes over 64
    EXPECT_EQ(got[5], (T{"keep", "renamed", true, false})) << piece;  // cut: seen as a delta first
    EXPECT_TRUE(p.at_boundary());
  }
}

TEST(StreamTap, ReadsTerminalIdAndUsageFromRealCodexStream) {
  std::ifstream in(std::string(CODEX_SAMPLES_DIR) + "/sample-sse-stream.txt");
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string stream = ss.str();
  StreamTap tap;
  for (std::size_t i = 0; i < stream.size(); i += 5)
    tap.feed(std::string_view(stream).substr(i, 5));
  EXPECT_EQ(tap.terminal(), "response.completed");
  EXPECT_EQ(tap.response_id().rfind("resp_", 0), 0u);
  EXPECT_TRUE(tap.usage().present);
  EXPECT_GT(tap.usage().input_tokens, 0);
  EXPECT_GT(tap.usage().output_tokens, 0);
  EXPECT_TRUE(tap.at_boundary());
}

TEST(StreamTap, ChatUsageChunkAndDone) {
  StreamTap tap;
  tap.feed(
      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{}}]}\n\n");
  EXPECT_FALSE(tap.terminal_seen());
  tap.feed(
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5,"
      "\"prompt_tokens_details\":{\"cached_tokens\":3}}}\n\ndata: [DONE]\n\n");
  EXPECT_TRUE(tap.terminal_seen());
  EXPECT_EQ(tap.usage().input_tokens, 11);
  EXPECT_EQ(tap.usage().cached_tokens, 3);
  EXPECT_EQ(tap.usage().output_tokens, 5);
}

TEST(StreamTap, FailedIsTerminalAndGarbageIsIgnored) {
  StreamTap tap;
  tap.feed("data: {not json\n\ndata: \n\n");
  EXPECT_FALSE(tap.terminal_seen());
  tap.feed("data: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_9\"}}\n\n");
  EXPECT_EQ(tap.terminal(), "response.failed");
  EXPECT_EQ(tap.response_id(), "resp_9");
}

// The tap reads a named Responses delta by its name alone (bench/README.md, sse_bench): even
// data that is not JSON counts as output, which a parse would have ignored.
TEST(StreamTap, NamedDeltasCountAsOutputWithoutAParse) {
  StreamTap tap;
  tap.feed(
      "event: response.created\ndata: {\"type\":\"response.created\",\"response\":"
      "{\"id\":\"resp_1\"}}\n\nevent: response.in_progress\ndata: {\"x\":1}\n\n");
  EXPECT_FALSE(tap.output_seen());
  EXPECT_EQ(tap.response_id(), "resp_1");
  tap.feed("event: response.output_text.delta\ndata: {not json\n\n");
  EXPECT_TRUE(tap.output_seen());
  tap.feed(
      "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":"
      "{\"id\":\"resp_1\",\"usage\":{\"input_tokens\":4,\"output_tokens\":2}}}\n\n");
  EXPECT_EQ(tap.terminal(), "response.completed");
  EXPECT_EQ(tap.usage().input_tokens, 4);
  EXPECT_EQ(tap.usage().output_tokens, 2);
}

// Chat chunks carry "usage":null until the last; a usage object is found whatever the spacing.
TEST(StreamTap, ChatUsageIsFoundWithSpacesAfterNullOnes) {
  StreamTap tap;
  tap.feed("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n");
  EXPECT_FALSE(tap.usage().present);
  tap.feed(
      "data: {\"choices\":[],\"usage\" :\t {\"prompt_tokens\":7,\"completion_tokens\":1}}\n\n");
  EXPECT_TRUE(tap.usage().present);
  EXPECT_EQ(tap.usage().input_tokens, 7);
  EXPECT_EQ(tap.usage().output_tokens, 1);
}

TEST(JsonPeek, UsageObjectIsNeverMissed) {
  EXPECT_TRUE(may_have_usage_object(R"({"usage":{"a":1}})"));
  EXPECT_TRUE(may_have_usage_object("{\"usage\" \t:\r\n{}}"));
  EXPECT_TRUE(may_have_usage_object(R"({"x":"usage","usage":null,"y":{"usage":{}}})"));
  EXPECT_FALSE(may_have_usage_object(R"({"usage":null})"));
  EXPECT_FALSE(may_have_usage_object(R"({"usage":)"));
  EXPECT_FALSE(may_have_usage_object(R"({"choices":[]})"));
  EXPECT_FALSE(may_have_usage_object(""));
}

TEST(LineEnd, FindsTheFirstCrOrLf) {
  EXPECT_EQ(find_line_end("abc\ndef", 0), 3u);
  EXPECT_EQ(find_line_end("abc\r\ndef", 0), 3u);
  EXPECT_EQ(find_line_end("ab\ncd\re", 3), 5u);
  EXPECT_EQ(find_line_end("a\rb\nc", 0), 1u);
  EXPECT_EQ(find_line_end("abc", 0), std::string_view::npos);
  EXPECT_EQ(find_line_end("abc\n", 4), std::string_view::npos);
  EXPECT_EQ(find_line_end("", 0), std::string_view::npos);
}

// LineEnds keeps the next CR between calls: each answer must still be find_line_end's.
TEST(LineEnds, AgreesWithFindLineEndFromEveryPosition) {
  for (std::string_view s : {"abc\ndef\r\nghi\rjkl\n\n\r\rmno", "no end", "\r", "\n\n\n",
                             "lf only\nlf only\nlast", "x\r\ny\r\nz"}) {
    LineEnds ends(s);
    for (std::size_t i = 0; i <= s.size();) {
      const std::size_t want = find_line_end(s, i);
      EXPECT_EQ(ends.next(i), want) << "at " << i << " of " << s;
      if (want == std::string_view::npos) break;
      i = want + 1;
    }
  }
}

}  // namespace
}  // namespace relay::sse

namespace relay::sse {
namespace {

TEST(JsonUsage, ReadsResponsesAndChatShapes) {
  auto r = usage_from_json_body(
      R"({"id":"resp_1","output":[],"usage":{"input_tokens":2345,"input_tokens_details":)"
      R"({"cached_tokens":1920},"output_tokens":57,"output_tokens_details":{"reasoning_tokens":9}}})");
  EXPECT_TRUE(r.present);
  EXPECT_EQ(r.input_tokens, 2345);
  EXPECT_EQ(r.cached_tokens, 1920);
  EXPECT_EQ(r.output_tokens, 57);
  EXPECT_EQ(r.reasoning_tokens, 9);
  auto c = usage_from_json_body(
      R"({"object":"chat.completion","usage":{"prompt_tokens":19,"completion_tokens":10,)"
      R"("prompt_tokens_details":{"cached_tokens":4}}})");
  EXPECT_TRUE(c.present);
  EXPECT_EQ(c.input_tokens, 19);
  EXPECT_EQ(c.cached_tokens, 4);
  EXPECT_EQ(c.output_tokens, 10);
}

TEST(JsonUsage, NoUsageOrNotJsonGivesNothing) {
  EXPECT_FALSE(usage_from_json_body(R"({"object":"list","data":[]})").present);
  EXPECT_FALSE(usage_from_json_body("not json").present);
  EXPECT_FALSE(usage_from_json_body(R"({"usage":{"input_tokens":)").present);
  EXPECT_FALSE(usage_from_json_body("").present);
  EXPECT_TRUE(usage_from_json_body(" \n {\"usage\":{\"input_tokens\":1}}").present);
}

}  // namespace
}  // namespace relay::sse
