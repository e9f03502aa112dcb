#pragma once
// The one error model: {"error":{"message","type","code","param"}} shaped like the provider's,
// so every OpenAI client parses it. Codes are stable and documented in docs/errors.md.
#include <string>
#include <string_view>

namespace relay {

enum class ErrorCode {
  kInvalidApiKey,
  kInvalidJson,
  kBadRequest,
  kRequestTooLarge,
  kHeadersTooLarge,
  kRequestTimeout,
  kUnknownUrl,
  kWebsocketNotSupported,
  kNoHealthyAccount,
  kUpstreamTimeout,
  kUpstreamUnavailable,
  kUpstreamRateLimited,
  kTenantRateLimited,
  kTenantConcurrencyLimited,
  kTenantQuotaExceeded,
  kLimitsUnavailable,
  kTooManyConnections,
  kTooManyInvalidKeys,
  // The admin API (docs/admin-api.md).
  kInvalidAdminToken,
  kInvalidValue,
  kNotFound,
  kAlreadyExists,
  kMethodNotAllowed,
  kStoreUnavailable,
  kInternal,
};

struct ErrorSpec {
  int status;
  std::string_view type;
  std::string_view code;
  std::string_view message;  // default message
};

const ErrorSpec& error_spec(ErrorCode code);

// The JSON body of an error response; message empty -> the code's default message.
std::string error_body(ErrorCode code, std::string_view message = {});

// A Responses-API `response.failed` SSE event, for failures after the 200 went out
// (codex-protocol.md §6: Codex ignores bare `error` events).
std::string response_failed_event(ErrorCode code, std::string_view response_id,
                                  std::string_view message = {});

// The same failure for other SSE streams (chat completions): a data payload with a top-level
// "error" key, which the SDKs raise as an APIError.
std::string stream_error_event(ErrorCode code, std::string_view message = {});

std::string json_escape(std::string_view s);

}  // namespace relay
