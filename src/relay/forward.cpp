#include "relay/forward.hpp"

#include "pool/egress_pool.hpp"

#include <array>

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

constexpr std::array<std::string_view, 9> kResponseAllow{
    "content-type",   "content-encoding",     "retry-after",    "retry-after-ms", "location",
    "x-should-retry", "openai-processing-ms", "openai-version", "cache-control"};

}  // namespace

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
    if (forward_request_header(h.name)) up.headers.push_back(h);
  up.headers.push_back({"authorization", "Bearer " + account.credential});
  return up;
}

http::Headers filter_response_headers(const http::Headers& upstream) {
  http::Headers out;
  for (const auto& h : upstream)
    if (return_response_header(h.name)) out.push_back(h);
  return out;
}

}  // namespace relay
