#include "relay/errors.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace relay {
namespace {

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& s) {
  return p.parse(simdjson::padded_string(s)).value();
}

TEST(ErrorModel, BodyHasProviderShape) {
  simdjson::dom::parser p;
  auto doc = parse(p, error_body(ErrorCode::kInvalidApiKey));
  auto err = doc["error"];
  EXPECT_EQ(std::string_view(err["code"]), "invalid_api_key");
  EXPECT_EQ(std::string_view(err["type"]), "invalid_request_error");
  EXPECT_FALSE(std::string_view(err["message"]).empty());
  EXPECT_TRUE(err["param"].is_null());
  EXPECT_EQ(error_spec(ErrorCode::kInvalidApiKey).status, 401);
}

TEST(ErrorModel, EveryCodeHasDistinctStableName) {
  std::set<std::string_view> seen;
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    const auto& s = error_spec(static_cast<ErrorCode>(i));
    EXPECT_TRUE(seen.insert(s.code).second) << s.code;
    EXPECT_GE(s.status, 400);
    EXPECT_FALSE(s.message.empty());
  }
}

TEST(ErrorModel, StatusesMatchTheDocumentedTable) {
  EXPECT_EQ(error_spec(ErrorCode::kInvalidJson).status, 400);
  EXPECT_EQ(error_spec(ErrorCode::kRequestTooLarge).status, 413);
  EXPECT_EQ(error_spec(ErrorCode::kHeadersTooLarge).status, 431);
  EXPECT_EQ(error_spec(ErrorCode::kRequestTimeout).status, 408);
  EXPECT_EQ(error_spec(ErrorCode::kUnknownUrl).status, 404);
  EXPECT_EQ(error_spec(ErrorCode::kWebsocketNotSupported).status, 426);
  EXPECT_EQ(error_spec(ErrorCode::kNoHealthyAccount).status, 503);
  EXPECT_EQ(error_spec(ErrorCode::kUpstreamTimeout).status, 504);
  EXPECT_EQ(error_spec(ErrorCode::kUpstreamUnavailable).status, 502);
}

TEST(ErrorModel, MessageIsEscaped) {
  simdjson::dom::parser p;
  std::string body = error_body(ErrorCode::kInvalidJson, "bad \"quote\" \\ and\nnewline \x01");
  auto doc = parse(p, body);
  EXPECT_EQ(std::string_view(doc["error"]["message"]), "bad \"quote\" \\ and\nnewline \x01");
}

TEST(ErrorModel, ResponseFailedEventIsCodexShaped) {
  std::string ev = response_failed_event(ErrorCode::kUpstreamUnavailable, "resp_1", "cut");
  ASSERT_EQ(ev.rfind("event: response.failed\ndata: ", 0), 0u);
  ASSERT_EQ(ev.substr(ev.size() - 2), "\n\n");
  auto json = ev.substr(ev.find("data: ") + 6);
  json.resize(json.size() - 2);
  simdjson::dom::parser p;
  auto doc = parse(p, json);
  EXPECT_EQ(std::string_view(doc["type"]), "response.failed");
  EXPECT_EQ(std::string_view(doc["response"]["id"]), "resp_1");
  EXPECT_EQ(std::string_view(doc["response"]["status"]), "failed");
  EXPECT_EQ(std::string_view(doc["response"]["error"]["code"]), "upstream_unavailable");
  EXPECT_EQ(std::string_view(doc["response"]["error"]["message"]), "cut");
}

TEST(ErrorModel, StreamErrorEventHasTopLevelError) {
  std::string ev = stream_error_event(ErrorCode::kUpstreamTimeout);
  ASSERT_EQ(ev.rfind("data: ", 0), 0u);
  auto json = ev.substr(6, ev.size() - 8);
  simdjson::dom::parser p;
  EXPECT_EQ(std::string_view(parse(p, json)["error"]["code"]), "upstream_timeout");
}

}  // namespace
}  // namespace relay
