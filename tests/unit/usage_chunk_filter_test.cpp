#include "sse/usage_chunk_filter.hpp"

#include <gtest/gtest.h>

#include "relay/usage_option.hpp"

namespace relay {
namespace {

// A chat stream as the provider sends it with include_usage (tests/mock-provider/chat.mjs).
const std::string kDelta =
    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],"
    "\"usage\":null}\n\n";
const std::string kStop =
    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
    "\"usage\":null}\n\n";
const std::string kUsage =
    "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10}}"
    "\n\n";
const std::string kDone = "data: [DONE]\n\n";

std::string run(const std::string& stream, std::size_t piece) {
  sse::UsageChunkFilter f;
  std::string out;
  for (std::size_t i = 0; i < stream.size(); i += piece) f.feed(stream.substr(i, piece), out);
  f.flush(out);
  return out;
}

TEST(UsageChunkFilter, RemovesOnlyTheUsageChunkAtEveryChunking) {
  const std::string stream = kDelta + kStop + kUsage + kDone;
  std::string want = kDelta;
  want += kStop;
  want += kDone;
  for (std::size_t piece : {1u, 2u, 3u, 7u, 64u, 4096u})
    EXPECT_EQ(run(stream, piece), want) << "piece " << piece;
}

TEST(UsageChunkFilter, KeepsEverythingElseByteForByte) {
  // CRLF and CR line ends, comments, named events, a usage chunk that has choices, a non-JSON
  // data line, and a usage chunk split over two data lines (joined by the SSE rule).
  const std::string keep = ": comment\r\n\r\nevent: x\rdata: {\"choices\":[{}],\"usage\":{}}\r\r" +
                           std::string("data: not json\n\n") + "data: {\"choices\":[]}\n\n";
  const std::string split = "data: {\"choices\":[],\ndata: \"usage\":{\"a\":1}}\r\n\r\n";
  for (std::size_t piece : {1u, 5u, 4096u}) {
    sse::UsageChunkFilter f;
    std::string out;
    for (std::size_t i = 0; i < (keep + split).size(); i += piece)
      f.feed((keep + split).substr(i, piece), out);
    f.flush(out);
    EXPECT_EQ(out, keep) << "piece " << piece;
    EXPECT_EQ(f.removed(), 1u);
  }
}

TEST(UsageChunkFilter, HoldsOnlyAnUnfinishedEventAndFlushesItAtTheEnd) {
  sse::UsageChunkFilter f;
  std::string out;
  f.feed(kDelta + "data: {\"partial\":", out);
  EXPECT_EQ(out, kDelta);
  f.flush(out);
  EXPECT_EQ(out, kDelta + "data: {\"partial\":");
}

TEST(UsageChunkFilter, AnOverlongEventPassesThroughWithoutBeingHeld) {
  sse::UsageChunkFilter f;
  std::string out;
  const std::string big(sse::UsageChunkFilter::kMaxEvent + 10, 'x');
  f.feed("data: " + big, out);
  EXPECT_EQ(out, "data: " + big);
  f.feed("yy\n\n" + kUsage, out);
  EXPECT_EQ(out, "data: " + big + "yy\n\n");
  f.flush(out);
  EXPECT_EQ(f.removed(), 1u);
}

TEST(UsageOption, AddedOnlyToChatStreamsWithoutStreamOptions) {
  BodyInfo b;
  b.json = true;
  b.stream = true;
  EXPECT_TRUE(wants_usage_option("/v1/chat/completions", b));
  EXPECT_FALSE(wants_usage_option("/v1/responses", b));
  b.stream_options = true;
  EXPECT_FALSE(wants_usage_option("/v1/chat/completions", b));
  b.stream_options = false;
  b.stream = false;
  EXPECT_FALSE(wants_usage_option("/v1/chat/completions", b));

  std::string body = R"(  {"model":"m","stream":true})";
  add_include_usage(body);
  EXPECT_EQ(body, R"(  {"stream_options":{"include_usage":true},"model":"m","stream":true})");
  std::string empty = "{ }";
  add_include_usage(empty);
  EXPECT_EQ(empty, R"({"stream_options":{"include_usage":true} })");
}

}  // namespace
}  // namespace relay
