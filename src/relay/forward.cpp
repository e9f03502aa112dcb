#include "relay/forward.hpp"

#include "pool/egress_pool.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace relay {
namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// What Codex (codex-protocol.md §2) and the OpenAI SDKs (§7) send and the provider may use.
// accept-encoding is left out on purpose: the relay reads usage from the body, so it asks for
// identity encoding (docs/architecture.md).
constexpr std::array<std::string_view, 12> kRequestAllow{
    "accept",      "content-type",    "user-agent",      "originator",
    "session-id",  "session_id",      "thread-id",       "x-client-request-id",
    "openai-beta", "idempotency-key", "conversation_id", "openai-version"};

// RFC 9110 7.6.1 and the older proxy ones; none is in the allow-lists, and this keeps it so.
constexpr std::array<std::string_view, 9> kHopByHop{"connection",
                                                    "keep-alive",
                                                    "proxy-connection",
                                                    "proxy-authenticate",
                                                    "proxy-authorization",
                                                    "te",
                                                    "trailer",
                                                    "transfer-encoding",
                                                    "upgrade"};

constexpr std::array<std::string_view, 9> kResponseAllow{
    "content-type",   "content-encoding",     "retry-after",    "retry-after-ms", "location",
    "x-should-retry", "openai-processing-ms", "openai-version", "cache-control"};

// Calls fn(token) for each comma-separated token of every Connection header, trimmed.
template <class Fn>
void for_each_connection_token(const http::Headers& headers, Fn&& fn) {
  for (const auto& h : headers) {
    if (h.name != "connection") continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      auto comma = v.find(',');
      std::string_view token = v.substr(0, comma);
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
        token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.remove_suffix(1);
      if (!token.empty()) fn(token);
    }
  }
}

bool named_in_connection(const http::Headers& headers, std::string_view lower_name) {
  bool named = false;
  for_each_connection_token(
      headers, [&](std::string_view t) { named = named || http::iequals(t, lower_name); });
  return named;
}

// Whether a header may cross this hop: allowed, not hop-by-hop, not named in Connection, and
// with a value that cannot split the header line. No allocation: this runs per request.
bool may_cross(const http::Header& h, bool (*allowed)(std::string_view), const http::Headers& all) {
  return allowed(h.name) && !is_hop_by_hop(h.name) && safe_header_value(h.value) &&
         !named_in_connection(all, h.name);
}

}  // namespace

bool is_hop_by_hop(std::string_view n) {
  for (auto h : kHopByHop)
    if (n == h) return true;
  return false;
}

// A plain loop: find_first_of tests each byte against the set with a call per byte, and this
// runs over every header that leaves for the provider.
bool safe_header_value(std::string_view v) {
  return std::none_of(v.begin(), v.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::vector<std::string> connection_tokens(const http::Headers& headers) {
  std::vector<std::string> out;
  for_each_connection_token(headers, [&](std::string_view t) { out.push_back(http::to_lower(t)); });
  return out;
}

bool forward_request_header(std::string_view n) {
  if (starts_with(n, "x-codex-") || starts_with(n, "x-stainless-")) return true;
  for (auto a : kRequestAllow)
    if (n == a) return true;
  return false;
}

bool return_response_header(std::string_view n) {
  for (auto a : kResponseAllow)
    if (n == a) return true;
  return false;
}

std::string upstream_url(std::string_view base, std::string_view target) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  // The client speaks /v1/...; the account's base URL already names its version root.
  if (starts_with(target, "/v1/") || target == "/v1") target.remove_prefix(3);
  std::string url(base);
  url += target;
  return url;
}

UpstreamRequest build_upstream_request(const http::Request& client,
                                       const store::SnapshotAccount& account,
                                       const pool::EgressRoute* egress) {
  UpstreamRequest up;
  if (egress != nullptr) {
    up.proxy = egress->proxy;
    up.proxy_ca_file = egress->ca_file;
  }
  up.method = client.method;
  up.url = upstream_url(account.base_url, client.target);
  up.body = &client.body;
  up.ca_file = account.ca_file;
  up.headers.reserve(client.headers.size() + 1);
  for (const auto& h : client.headers)
    if (may_cross(h, forward_request_header, client.headers)) up.headers.push_back(h);
  up.headers.push_back({"authorization", "Bearer " + account.credential});
  return up;
}

http::Headers filter_response_headers(const http::Headers& upstream, std::size_t extra) {
  http::Headers out;
  out.reserve(upstream.size() + extra);
  for (const auto& h : upstream)
    if (may_cross(h, return_response_header, upstream)) out.push_back(h);
  return out;
}

}  // namespace relay
