#pragma once
// How one attempt on an account went, as the pool sees it: the failure class decides the
// account's penalty (docs/pool.md, "Failure table").
#include <chrono>
#include <optional>
#include <string_view>

#include "http/message.hpp"

namespace relay::pool {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

enum class FailureClass {
  kNone,         // success
  kClientError,  // 4xx about the request (400, 404, 413, 422, ...): the client's fault, no penalty
  kConnect,      // connect error, TLS failure, reset before the response head
  kTimeout,      // no response head in time (connect timeouts included), or a 408
  kServerError,  // 5xx, or a stream that failed with server_error before its first output
  kOverloaded,   // 503 server_is_overloaded, 529
  kRateLimited,  // 429 rate_limit_exceeded (window from Retry-After / x-ratelimit-reset-*)
  kAuth,         // 401, 403, insufficient_quota: the account's credential or billing
};

std::string_view to_string(FailureClass c);

struct AttemptOutcome {
  FailureClass failure = FailureClass::kNone;
  std::optional<Millis> retry_after;  // from the provider, when it said
  std::optional<Millis> ttfb;         // time to the response head, when one arrived
  // The failure came after the relay had committed to this account's response (a stream cut
  // mid-way). It lowers the account's score but opens no circuit: failover was no longer
  // possible, and cooling the account would only refuse the next requests.
  bool after_commit = false;
};

// Classifies an upstream HTTP answer. `error_code` is error.code from the body when known
// (e.g. "insufficient_quota", "server_is_overloaded"), else empty.
FailureClass classify_status(int status, std::string_view error_code);

// Classifies a `response.failed` event that arrived before any output, from its error.code.
FailureClass classify_stream_failure(std::string_view error_code);

// Retry-After (seconds or HTTP date), retry-after-ms, x-ratelimit-reset-requests/-tokens
// ("1s", "6m0s", "20ms", "1h2m3.5s"): the longest of those present; nullopt when none parses.
std::optional<Millis> retry_after_from(const http::Headers& headers,
                                       std::chrono::system_clock::time_point now);

// Whether another account may be tried after this failure (before the first byte only).
bool worth_another_account(FailureClass c);

}  // namespace relay::pool
