#include <gtest/gtest.h>

#include "pool/outcome.hpp"

namespace relay::pool {
namespace {

using namespace std::chrono_literals;
using SysTime = std::chrono::system_clock::time_point;

TEST(PoolOutcome, ClassifyStatusTable) {
  struct Row {
    int status;
    const char* code;
    FailureClass want;
  };
  const Row rows[] = {
      {200, "", FailureClass::kNone},
      {204, "", FailureClass::kNone},
      {302, "", FailureClass::kNone},
      {401, "invalid_api_key", FailureClass::kAuth},
      {403, "", FailureClass::kAuth},
      {429, "insufficient_quota", FailureClass::kAuth},
      {429, "rate_limit_exceeded", FailureClass::kRateLimited},
      {429, "", FailureClass::kRateLimited},
      {503, "server_is_overloaded", FailureClass::kOverloaded},
      {529, "", FailureClass::kOverloaded},
      {503, "", FailureClass::kServerError},
      {500, "", FailureClass::kServerError},
      {502, "", FailureClass::kServerError},
      {504, "", FailureClass::kServerError},
      {408, "", FailureClass::kTimeout},
      {400, "context_length_exceeded", FailureClass::kClientError},
      {404, "", FailureClass::kClientError},
      {413, "", FailureClass::kClientError},
      {422, "", FailureClass::kClientError},
  };
  for (const auto& r : rows)
    EXPECT_EQ(classify_status(r.status, r.code), r.want) << r.status << " " << r.code;
}

TEST(PoolOutcome, ClassifyStreamFailureTable) {
  EXPECT_EQ(classify_stream_failure("rate_limit_exceeded"), FailureClass::kRateLimited);
  EXPECT_EQ(classify_stream_failure("insufficient_quota"), FailureClass::kAuth);
  EXPECT_EQ(classify_stream_failure("server_is_overloaded"), FailureClass::kOverloaded);
  for (const char* c : {"context_length_exceeded", "invalid_prompt", "invalid_request_error",
                        "invalid_image_url", "image_too_large", "unsupported_parameter"})
    EXPECT_EQ(classify_stream_failure(c), FailureClass::kClientError) << c;
  for (const char* c : {"server_error", "", "vector_store_timeout", "something_new"})
    EXPECT_EQ(classify_stream_failure(c), FailureClass::kServerError) << c;
}

TEST(PoolOutcome, WorthAnotherAccountOnlyForAccountFaults) {
  for (auto c : {FailureClass::kConnect, FailureClass::kTimeout, FailureClass::kServerError,
                 FailureClass::kOverloaded, FailureClass::kRateLimited, FailureClass::kAuth})
    EXPECT_TRUE(worth_another_account(c)) << to_string(c);
  EXPECT_FALSE(worth_another_account(FailureClass::kNone));
  EXPECT_FALSE(worth_another_account(FailureClass::kClientError));
}

TEST(PoolOutcome, FailureClassNames) {
  EXPECT_EQ(to_string(FailureClass::kNone), "none");
  EXPECT_EQ(to_string(FailureClass::kClientError), "client_error");
  EXPECT_EQ(to_string(FailureClass::kConnect), "connect");
  EXPECT_EQ(to_string(FailureClass::kTimeout), "timeout");
  EXPECT_EQ(to_string(FailureClass::kServerError), "server_error");
  EXPECT_EQ(to_string(FailureClass::kOverloaded), "overloaded");
  EXPECT_EQ(to_string(FailureClass::kRateLimited), "rate_limited");
  EXPECT_EQ(to_string(FailureClass::kAuth), "auth");
}

std::optional<Millis> after(std::initializer_list<http::Header> hs, SysTime now = SysTime{}) {
  return retry_after_from(http::Headers(hs), now);
}

TEST(PoolOutcome, RetryAfterSeconds) {
  EXPECT_EQ(after({{"retry-after", "3"}}), 3000ms);
  EXPECT_EQ(after({{"retry-after", "1.5"}}), 1500ms);
  EXPECT_EQ(after({{"retry-after", " 2 "}}), 2000ms);
  EXPECT_EQ(after({{"retry-after", "-5"}}), 0ms);  // clamped
  EXPECT_EQ(after({{"retry-after", "soon"}}), std::nullopt);
  EXPECT_EQ(after({{"retry-after", ""}}), std::nullopt);
  EXPECT_EQ(after({{"retry-after", "3s"}}), std::nullopt);
  EXPECT_EQ(after({}), std::nullopt);
  EXPECT_EQ(after({{"x-other", "7"}}), std::nullopt);
}

TEST(PoolOutcome, RetryAfterHttpDateInAllThreeForms) {
  const SysTime date{std::chrono::seconds{784111777}};  // Sun, 06 Nov 1994 08:49:37 GMT
  const SysTime now = date - 10s;
  EXPECT_EQ(after({{"retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"}}, now), 10000ms);
  EXPECT_EQ(after({{"retry-after", "Sunday, 06-Nov-94 08:49:37 GMT"}}, now), 10000ms);
  EXPECT_EQ(after({{"retry-after", "Sun Nov  6 08:49:37 1994"}}, now), 10000ms);
  EXPECT_EQ(after({{"retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"}}, date + 1h), 0ms);  // past
  EXPECT_EQ(after({{"retry-after", "Sun, 06 Foo 1994 08:49:37 GMT"}}, now), std::nullopt);
  EXPECT_EQ(after({{"retry-after", "Sun, 06 Nov 1994 8:49 GMT"}}, now), std::nullopt);
}

TEST(PoolOutcome, RetryAfterMsAndRateLimitResetDurations) {
  EXPECT_EQ(after({{"retry-after-ms", "250"}}), 250ms);
  EXPECT_EQ(after({{"retry-after-ms", "12.6"}}), 13ms);
  EXPECT_EQ(after({{"x-ratelimit-reset-requests", "1s"}}), 1000ms);
  EXPECT_EQ(after({{"x-ratelimit-reset-requests", "6m0s"}}), 360000ms);
  EXPECT_EQ(after({{"x-ratelimit-reset-tokens", "20ms"}}), 20ms);
  EXPECT_EQ(after({{"x-ratelimit-reset-tokens", "1h2m3.5s"}}), 3723500ms);
  EXPECT_EQ(after({{"x-ratelimit-reset-tokens", "0.5s"}}), 500ms);
  for (const char* bad : {"", "5", "1x", "s", "1.2.3s", "-1s"})
    EXPECT_EQ(after({{"x-ratelimit-reset-tokens", bad}}), std::nullopt) << bad;
}

TEST(PoolOutcome, RetryAfterTakesTheLongestAndIgnoresGarbage) {
  EXPECT_EQ(after({{"retry-after", "2"},
                   {"retry-after-ms", "500"},
                   {"x-ratelimit-reset-requests", "6m0s"},
                   {"x-ratelimit-reset-tokens", "1s"}}),
            360000ms);
  EXPECT_EQ(after({{"retry-after", "garbage"}, {"x-ratelimit-reset-tokens", "1.5s"}}), 1500ms);
  EXPECT_EQ(after({{"retry-after-ms", "9000"}, {"retry-after", "3"}}), 9000ms);
}

}  // namespace
}  // namespace relay::pool
