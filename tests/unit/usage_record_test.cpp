#include "records/usage_record.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::records {
namespace {

UsageRecord sample() {
  UsageRecord r;
  r.request_id = "req_0123456789abcdef";
  r.start_ms = 1'764'200'000'123;
  r.node = "node-1";
  r.region = "eu-west";
  r.tenant = "team-a";
  r.key_id = "key_3f9a1c2b7d40";
  r.account = "openai-main";
  r.egress = "squid-eu";
  r.model = "gpt-5.5";
  r.endpoint = "/v1/responses";
  r.stream = true;
  r.status = 200;
  r.attempts = 2;
  r.ttfb_ms = 412;
  r.duration_ms = 5230;
  r.bytes_in = 18'234;
  r.bytes_out = 90'211;
  r.input_tokens = 5120;
  r.cached_tokens = 4096;
  r.output_tokens = 812;
  r.reasoning_tokens = 256;
  r.usage_incomplete = false;
  r.client_family = "codex_cli";
  return r;
}

// encode(sample()) with one field's JSON text replaced, for the rejection cases.
std::string with(const std::string& key, const std::string& json_value) {
  std::string line = encode(sample());
  const std::string k = "\"" + key + "\":";
  const std::size_t at = line.find(k);
  EXPECT_NE(at, std::string::npos) << key;
  const std::size_t from = at + k.size();
  std::size_t to = from;
  if (line[from] == '"') {
    to = line.find('"', from + 1) + 1;  // the sample's strings hold no escaped quote
  } else {
    while (line[to] != ',' && line[to] != '}') ++to;
  }
  return line.substr(0, from) + json_value + line.substr(to);
}

std::string without(const std::string& key) {
  std::string line = with(key, "0");
  std::string k = ",\"" + key + "\":0";  // every field but the first ("v")
  if (line.find(k) == std::string::npos) k = "\"" + key + "\":0,";
  return line.replace(line.find(k), k.size(), "");
}

TEST(UsageRecordTest, RoundTripsEveryField) {
  const UsageRecord r = sample();
  const std::string line = encode(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.front(), '{');
  auto back = decode(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
  EXPECT_NE(line.find(R"("cached_tokens":4096)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("stream":true)"), std::string::npos) << line;

  UsageRecord empty;  // every default, ttfb -1 included
  ASSERT_TRUE(decode(encode(empty)));
  EXPECT_EQ(*decode(encode(empty)), empty);
  EXPECT_EQ(decode(encode(empty))->ttfb_ms, -1);
}

TEST(UsageRecordTest, EscapesQuotesControlsAndKeepsUtf8) {
  UsageRecord r = sample();
  r.model = "m\"o\\d\ne\tl\x01";
  r.client_family = "caf\xc3\xa9 \xe6\xa8\xa1\xf0\x9f\x98\x80";  // é, 模, 😀
  const std::string line = encode(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find(R"(m\"o\\d\u000ae\u0009l\u0001)"), std::string::npos) << line;
  auto back = decode(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
}

TEST(UsageRecordTest, EncodeAlwaysWritesWhatDecodeAccepts) {
  UsageRecord r = sample();
  r.tenant = std::string(300, 'a');
  r.model = std::string(255, 'b') + "\xc3\xa9";   // 257 bytes: the é would cross the limit
  r.account = "bad\xff\xc0\x80utf8\xed\xa0\x80";  // stray byte, overlong NUL, a surrogate
  r.endpoint = "/v1/re\xffsponses?api-key=secret";
  r.input_tokens = -5;
  r.ttfb_ms = -7;
  r.status = 1000;
  auto back = decode(encode(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->tenant, std::string(256, 'a'));
  EXPECT_EQ(back->model, std::string(255, 'b'));  // cut on the character boundary
  EXPECT_EQ(back->account, "bad???utf8???");      // one '?' per byte that starts no character
  EXPECT_EQ(back->endpoint, "/v1/re%FFsponses");  // no query, and no '?' for the bad byte
  EXPECT_EQ(encode(r).find("secret"), std::string::npos);
  EXPECT_EQ(back->input_tokens, 0);
  EXPECT_EQ(back->ttfb_ms, -1);
  EXPECT_EQ(back->status, 0);
}

TEST(UsageRecordTest, IgnoresUnknownKeysAndWhitespace) {
  std::string line = encode(sample());
  line.insert(1, R"( "future_field" : [1, {"x": null}], )");
  auto back = decode("  " + line + " \r");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, sample());
}

TEST(UsageRecordTest, RejectsWhatIsNotOneRecord) {
  const std::string good = encode(sample());
  for (const std::string& bad : {
           std::string(),
           std::string("\n"),
           std::string("null"),
           std::string("[]"),
           std::string("{}"),
           good.substr(0, good.size() - 1),  // torn: no closing brace
           good + "{}",                      // two values
           good + "x",
           std::string("\x00", 1) + good,
       })
    EXPECT_FALSE(decode(bad)) << bad;
}

TEST(UsageRecordTest, RejectsAMissingField) {
  for (const char* key : {"v",
                          "request_id",
                          "start_ms",
                          "node",
                          "region",
                          "tenant",
                          "key_id",
                          "account",
                          "egress",
                          "model",
                          "endpoint",
                          "stream",
                          "status",
                          "error_code",
                          "attempts",
                          "ttfb_ms",
                          "duration_ms",
                          "bytes_in",
                          "bytes_out",
                          "input_tokens",
                          "cached_tokens",
                          "output_tokens",
                          "reasoning_tokens",
                          "usage_incomplete",
                          "client_family"})
    EXPECT_FALSE(decode(without(key))) << key;
}

TEST(UsageRecordTest, RejectsWrongTypes) {
  EXPECT_TRUE(decode(with("input_tokens", "7")));  // the helper itself works
  EXPECT_FALSE(decode(with("v", "2")));            // a version this binary does not know
  EXPECT_FALSE(decode(with("v", "\"1\"")));
  EXPECT_FALSE(decode(with("tenant", "7")));
  EXPECT_FALSE(decode(with("tenant", "null")));
  EXPECT_FALSE(decode(with("model", "[\"gpt\"]")));
  EXPECT_FALSE(decode(with("input_tokens", "\"7\"")));
  EXPECT_FALSE(decode(with("input_tokens", "7.0")));
  EXPECT_FALSE(decode(with("input_tokens", "7e2")));
  EXPECT_FALSE(decode(with("bytes_out", "9223372036854775808")));  // beyond int64
  EXPECT_FALSE(decode(with("bytes_out", "100000000000000000000000")));
  EXPECT_FALSE(decode(with("stream", "1")));
  EXPECT_FALSE(decode(with("usage_incomplete", "\"false\"")));
  EXPECT_FALSE(decode(with("status", "true")));
}

TEST(UsageRecordTest, RejectsOutOfRangeValues) {
  for (const char* key :
       {"start_ms", "attempts", "duration_ms", "bytes_in", "bytes_out", "input_tokens",
        "cached_tokens", "output_tokens", "reasoning_tokens", "status"})
    EXPECT_FALSE(decode(with(key, "-1"))) << key;
  EXPECT_TRUE(decode(with("ttfb_ms", "-1")));
  EXPECT_FALSE(decode(with("ttfb_ms", "-2")));
  EXPECT_TRUE(decode(with("status", "999")));
  EXPECT_FALSE(decode(with("status", "1000")));
  EXPECT_TRUE(decode(with("bytes_out", "9223372036854775807")));
}

TEST(UsageRecordTest, RejectsOversizeOrUnsafeStrings) {
  EXPECT_TRUE(decode(with("tenant", "\"" + std::string(256, 'a') + "\"")));
  EXPECT_FALSE(decode(with("tenant", "\"" + std::string(257, 'a') + "\"")));
  // The limit is on the decoded bytes, not on the escaped text.
  std::string escaped;
  for (int i = 0; i < 128; ++i) escaped += "\\u00e9";  // 768 characters, 256 bytes
  EXPECT_TRUE(decode(with("model", "\"" + escaped + "\"")));
  EXPECT_FALSE(decode(with("model", "\"" + escaped + "\\u00e9\"")));  // 258 bytes
  EXPECT_FALSE(decode(with("endpoint", "\"/v1/responses?x=1\"")));
  EXPECT_FALSE(decode(with("node", "\"\\ud800\"")));  // a lone surrogate is not UTF-8
  EXPECT_FALSE(decode(with("node", "\"\xff\"")));     // nor is a stray byte
  EXPECT_FALSE(
      decode(std::string(std::size_t{70} * 1024, ' ') + encode(sample())));  // over-long line
}

}  // namespace
}  // namespace relay::records
