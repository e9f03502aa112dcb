#include "relay/errors.hpp"

#include <array>
#include <cstdio>

namespace relay {
namespace {

constexpr std::array<ErrorSpec, 25> kSpecs{{
    {401, "invalid_request_error", "invalid_api_key",
     "Incorrect or missing API key. Provide a relay key as 'Authorization: Bearer <key>' or "
     "'X-API-Key: <key>'."},
    {400, "invalid_request_error", "invalid_json",
     "The request body is not valid JSON. Send a JSON object."},
    {400, "invalid_request_error", "bad_request", "The HTTP request could not be parsed."},
    {413, "invalid_request_error", "request_too_large",
     "The request body exceeds the relay's size limit."},
    {431, "invalid_request_error", "headers_too_large",
     "The request headers exceed the relay's size limit."},
    {408, "invalid_request_error", "request_timeout", "The request was not received in time."},
    {404, "invalid_request_error", "unknown_url", "Unknown path. The relay serves /v1/*."},
    {426, "invalid_request_error", "websocket_not_supported",
     "WebSocket is not supported on this endpoint; use HTTP with server-sent events."},
    {503, "server_error", "no_healthy_account",
     "No upstream account is available for this model right now."},
    {504, "server_error", "upstream_timeout", "The upstream did not answer in time."},
    {502, "server_error", "upstream_unavailable", "The upstream could not be reached."},
    {429, "rate_limit_error", "upstream_rate_limited",
     "Every upstream account that serves this model is rate limited; retry after the time in "
     "the Retry-After header."},
    {429, "rate_limit_error", "tenant_rate_limited",
     "Rate limit reached for this tenant; retry after the time in the Retry-After header."},
    {429, "rate_limit_error", "tenant_concurrency_limited",
     "This tenant has as many requests in flight as it may; retry when one has finished."},
    {429, "rate_limit_error", "tenant_quota_exceeded",
     "This tenant's quota for the current UTC period is used up."},
    {503, "server_error", "limits_unavailable",
     "The relay cannot check this tenant's limits right now; retry shortly."},
    {503, "server_error", "too_many_connections",
     "The relay has as many connections open as it may; retry shortly."},
    {429, "rate_limit_error", "too_many_invalid_keys",
     "Too many requests with an invalid or missing API key from this address; retry after the "
     "time in the Retry-After header."},
    {401, "invalid_request_error", "invalid_admin_token",
     "Incorrect or missing admin token. Provide one as 'Authorization: Bearer <token>' (see "
     "`codex-relay admin-token add`)."},
    {400, "invalid_request_error", "invalid_value", "A field of the request has an invalid value."},
    {404, "invalid_request_error", "not_found", "No such object."},
    {409, "invalid_request_error", "already_exists", "An object with this name already exists."},
    {405, "invalid_request_error", "method_not_allowed",
     "This method is not allowed on this path."},
    {503, "server_error", "store_unavailable",
     "The config store cannot be reached; retry shortly."},
    {500, "server_error", "internal_error", "The relay hit an internal error."},
}};

}  // namespace

const ErrorSpec& error_spec(ErrorCode code) {
  return kSpecs.at(static_cast<std::size_t>(code));
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

namespace {
std::string error_object(const ErrorSpec& s, std::string_view message) {
  std::string out = R"({"message":")";
  out += json_escape(message.empty() ? s.message : message);
  out += R"(","type":")";
  out += s.type;
  out += R"(","code":")";
  out += s.code;
  out += R"(","param":null})";
  return out;
}
}  // namespace

std::string error_body(ErrorCode code, std::string_view message) {
  return R"({"error":)" + error_object(error_spec(code), message) + "}";
}

std::string response_failed_event(ErrorCode code, std::string_view response_id,
                                  std::string_view message) {
  const auto& s = error_spec(code);
  std::string out = "event: response.failed\ndata: ";
  out += R"({"type":"response.failed","response":{"id":")";
  out += json_escape(response_id);
  out += R"(","object":"response","status":"failed","error":{"code":")";
  out += s.code;
  out += R"(","message":")";
  out += json_escape(message.empty() ? s.message : message);
  out += R"("}}})";
  out += "\n\n";
  return out;
}

std::string stream_error_event(ErrorCode code, std::string_view message) {
  return "data: {\"error\":" + error_object(error_spec(code), message) + "}\n\n";
}

}  // namespace relay
