#include "relay/inspect.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace relay {
namespace {

http::Request json_request(std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = "/v1/responses";
  r.headers = {{"content-type", "application/json"}};
  r.body = std::move(body);
  return r;
}

TEST(Inspect, ReadsModelStreamAndCacheKey) {
  auto r = inspect(
      json_request(R"({"model":"gpt-5.5","stream":true,"input":[],"prompt_cache_key":"sess-1"})"));
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.info.json);
  EXPECT_EQ(r.info.model, "gpt-5.5");
  EXPECT_TRUE(r.info.stream);
  EXPECT_EQ(r.info.prompt_cache_key, "sess-1");
}

TEST(Inspect, BodyIsLeftUntouched) {
  std::string body = R"({ "model" : "m",  "stream":false })";
  auto req = json_request(body);
  req.body.reserve(body.size() + 64);
  auto r = inspect(req);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(req.body, body);
  EXPECT_FALSE(r.info.stream);
}

TEST(Inspect, MalformedJsonIsAnError) {
  for (std::string bad : {"{", R"({"model":"x",})", "not json", R"({"a":1} trailing)", "[1,2",
                          R"({"model":"\u12"})"}) {
    auto r = inspect(json_request(bad));
    EXPECT_TRUE(r.error) << bad;
  }
}

TEST(Inspect, NonObjectIsAnError) {
  auto r = inspect(json_request("[1,2,3]"));
  ASSERT_TRUE(r.error);
}

TEST(Inspect, EmptyBodyAndNonJsonContentTypeAreNotParsed) {
  auto r = inspect(json_request(""));
  EXPECT_FALSE(r.error);
  EXPECT_FALSE(r.info.json);
  auto multipart = json_request("--boundary\r\nnot json");
  multipart.headers = {{"content-type", "multipart/form-data; boundary=boundary"}};
  r = inspect(multipart);
  EXPECT_FALSE(r.error);
  EXPECT_FALSE(r.info.json);
}

TEST(Inspect, WrongTypedFieldsAreIgnoredNotFatal) {
  auto r = inspect(json_request(R"({"model":42,"stream":"yes"})"));
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.info.model, "");
  EXPECT_FALSE(r.info.stream);
}

TEST(Inspect, RealCodexRequestSample) {
  std::ifstream in(std::string(CODEX_SAMPLES_DIR) + "/sample-request-body.json");
  ASSERT_TRUE(in) << "missing tests/data/codex sample";
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = inspect(json_request(ss.str()));
  ASSERT_FALSE(r.error) << *r.error;
  EXPECT_EQ(r.info.model, "gpt-5.5");
  EXPECT_TRUE(r.info.stream);
  EXPECT_FALSE(r.info.prompt_cache_key.empty());
}

}  // namespace
}  // namespace relay
