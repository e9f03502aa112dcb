// Fuzz target: request header handling, from the bytes on the socket to the headers that leave
// for the provider. Beast's parser with the limits of http/session.cpp (body limit lowered to
// 64 KiB here), the relay::http::Request built the way session.cpp builds it, key extraction
// (relay/identify) and relay::build_upstream_request. Invariants, checked with abort(): nothing
// that could split or smuggle a header goes out, no hop-by-hop header (nor one the client's
// Connection header names) is forwarded, and the client's own credentials and cookies never reach
// the provider.
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "relay/forward.hpp"
#include "relay/identify.hpp"

namespace bhttp = boost::beast::http;

namespace {

constexpr std::uint32_t kHeaderLimit = 32 * 1024;  // ServerConfig::max_header_bytes
constexpr std::uint64_t kBodyLimit = std::uint64_t{64} * 1024;
constexpr std::string_view kCredential = "sk-account-credential";

void check(bool ok) {
  if (!ok) std::abort();
}

bool has_control(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_hop_by_hop(std::string_view n) {
  return n == "connection" || n == "keep-alive" || n == "te" || n == "trailer" ||
         n == "transfer-encoding" || n == "upgrade" || n.substr(0, 6) == "proxy-";
}

// As session.cpp's to_request, minus the client address.
relay::http::Request to_request(bhttp::request_parser<bhttp::string_body>& parser) {
  auto& msg = parser.get();
  relay::http::Request r;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  for (const auto& f : msg)
    r.headers.push_back(
        {relay::http::to_lower(std::string_view(f.name_string())), std::string(f.value())});
  r.keep_alive = msg.keep_alive();
  r.upgrade = parser.upgrade();
  r.body = std::move(msg.body());
  return r;
}

void check_key_extraction(const relay::http::Request& req) {
  std::string_view key = relay::presented_key(req.headers);
  if (key.empty()) return;
  // The key is a piece of the client's authorization or x-api-key value, never anything else.
  const std::string* auth = relay::http::find_header(req.headers, "authorization");
  const std::string* api = relay::http::find_header(req.headers, "x-api-key");
  auto inside = [&](const std::string* v) {
    return v != nullptr && key.data() >= v->data() &&
           key.data() + key.size() <= v->data() + v->size();
  };
  check(inside(auth) || inside(api));
  check(!has_control(key));
  std::string id = relay::request_id_for(req.headers);
  check(!id.empty() && id.size() <= 128 && !has_control(id));
}

// The field names the client's Connection headers declare hop-by-hop (RFC 9110 7.6.1), read
// here independently of forward.cpp.
bool named_in_connection(const relay::http::Request& req, std::string_view name) {
  for (const auto& h : req.headers) {
    if (h.name != "connection") continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      std::size_t comma = v.find(',');
      std::string_view token = v.substr(0, comma);
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
        token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.remove_suffix(1);
      if (!token.empty() && relay::http::to_lower(token) == name) return true;
    }
  }
  return false;
}

void check_upstream(const relay::http::Request& req, const relay::UpstreamRequest& up) {
  check(!has_control(up.method) && !has_control(up.url));
  int authorizations = 0;
  for (const auto& h : up.headers) {
    check(!h.name.empty() && !has_control(h.name) && !has_control(h.value));
    check(!is_hop_by_hop(h.name));
    // The account's authorization is the relay's own, whatever the client's Connection says.
    check(h.name == "authorization" || !named_in_connection(req, h.name));
    check(h.name != "x-api-key" && h.name != "cookie");
    if (h.name == "authorization") {
      ++authorizations;
      check(h.value == "Bearer " + std::string(kCredential));
    }
  }
  check(authorizations == 1);  // the account's, never the client's
  check(up.body == &req.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(kBodyLimit);
  parser.eager(true);
  boost::beast::error_code ec;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty() && !parser.is_done()) {
    std::size_t n = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (ec || n == 0) break;
    rest.remove_prefix(n);
  }
  // Only a complete header reaches the phases (session.cpp answers anything else with an error).
  if (!parser.is_header_done()) return 0;
  if (ec && ec != bhttp::error::need_more) return 0;

  relay::http::Request req = to_request(parser);
  check_key_extraction(req);

  relay::store::SnapshotAccount account;
  account.base_url = "https://api.openai.com/v1";
  account.credential = std::string(kCredential);
  check_upstream(req, relay::build_upstream_request(req, account));
  return 0;
}
