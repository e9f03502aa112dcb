#pragma once
// Phase 6, forward: what leaves the relay. Headers go by allow-list in both directions, so a
// header nobody thought of (a new proxy's X-Forwarded-*, a provider's account header) is dropped
// by default rather than leaked.
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "store/snapshot.hpp"

namespace relay::pool {
struct EgressRoute;
}

namespace relay {

// Client -> upstream. Never the client's key, cookies or address headers.
bool forward_request_header(std::string_view lower_name);
// Connection, Keep-Alive, TE, Upgrade, Proxy-* and the like: about one hop, never forwarded.
bool is_hop_by_hop(std::string_view lower_name);
// A value that would break a header line (CR, LF, NUL): never sent on.
bool safe_header_value(std::string_view value);
// The lower-case field names listed in the Connection headers (hop-by-hop by declaration).
std::vector<std::string> connection_tokens(const http::Headers& headers);
// Upstream -> client. Never the account's organisation, project, cookies or rate-limit state.
bool return_response_header(std::string_view lower_name);

// base https://api.openai.com/v1 + target /v1/responses?x=1 ->
// https://api.openai.com/v1/responses?x=1
std::string upstream_url(std::string_view base_url, std::string_view target);

struct UpstreamRequest {
  std::string method;
  std::string url;
  http::Headers headers;              // already filtered, with the account's credential
  const std::string* body = nullptr;  // owned by the client request; replayed on retry
  std::string ca_file;
  // The account's egress for this attempt; empty: direct. TLS to the provider runs through it
  // (a CONNECT tunnel, or SOCKS5 with the name resolved by the proxy).
  std::string proxy;
  std::string proxy_ca_file;
  bool connect_only = false;  // probes: open the tunnel (and TLS), send nothing
};

// `egress`: the proxy the attempt leaves through (pool::EgressPool::choose); nullptr or an empty
// route: direct.
UpstreamRequest build_upstream_request(const http::Request& client,
                                       const store::SnapshotAccount& account,
                                       const pool::EgressRoute* egress = nullptr);

// The response headers the client gets: the allow-listed upstream ones, minus hop-by-hop ones.
// `extra`: room for the headers the caller adds after them, so the vector is allocated once.
http::Headers filter_response_headers(const http::Headers& upstream, std::size_t extra = 0);

}  // namespace relay
