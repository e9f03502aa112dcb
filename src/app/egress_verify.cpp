#include "app/egress_verify.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <simdjson.h>

#include <map>
#include <memory>

#include "egress/proxy_url.hpp"

namespace relay::app::egress_verify {
namespace {

// An echo reply is an address; anything longer is not one, and is not worth reading.
constexpr std::size_t kMaxBody = 4096;

struct Body {
  std::string data;
  bool too_long = false;
};

std::size_t on_write(char* p, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<Body*>(user);
  const std::size_t len = size * n;
  if (body->data.size() + len > kMaxBody) {
    body->too_long = true;
    return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
  }
  body->data.append(p, len);
  return len;
}

// curl's messages name hosts and ports, not credentials; this makes sure of it.
std::string scrub(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "***");
  return text;
}

std::string canonical_ip(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return {};  // inet_pton would stop there
  const std::string s(text);
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6})
    if (inet_pton(family, s.c_str(), buf) == 1 && inet_ntop(family, buf, out, sizeof out))
      return out;
  return {};
}

}  // namespace

std::optional<std::string> parse_ip(std::string_view body) {
  const char* ws = " \t\r\n";
  const auto b = body.find_first_not_of(ws);
  if (b == std::string_view::npos) return std::nullopt;
  body = body.substr(b, body.find_last_not_of(ws) - b + 1);
  std::string_view text = body;
  simdjson::dom::parser parser;  // outlives `text`, which may point into it
  if (body.starts_with('{')) {
    simdjson::dom::element doc;
    if (parser.parse(simdjson::padded_string(body)).get(doc)) return std::nullopt;
    if (doc["ip"].get_string().get(text)) return std::nullopt;
  }
  std::string ip = canonical_ip(text);
  if (ip.empty()) return std::nullopt;
  return ip;
}

ProbeResult probe(const store::SnapshotEgress& egress, const Options& o) {
  auto proxy = egress::parse_proxy_url(egress.url);
  if (!proxy.url) return {"", proxy.error};
  const std::string& password = proxy.url->password;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), &curl_easy_cleanup);
  if (!easy) return {"", "cannot create a curl handle"};
  CURL* h = easy.get();
  Body body;
  char error[CURL_ERROR_SIZE] = {};
  const std::string proxy_text = proxy.url->for_curl();
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_URL, o.echo_url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o.timeout_ms);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "codex-relay egress verify");
  if (!o.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, o.ca_file.c_str());
  // The egress and nothing else: an explicit proxy overrides *_proxy variables, and an empty
  // no-proxy list overrides NO_PROXY, which could otherwise send the echo request direct and
  // report the relay's own address as the egress's.
  curl_easy_setopt(h, CURLOPT_PROXY, proxy_text.c_str());
  curl_easy_setopt(h, CURLOPT_NOPROXY, "");
  // A tunnel (CONNECT) even for an http:// echo URL: the request then leaves the proxy as it
  // would for the provider, instead of being forwarded as a plain proxied GET.
  if (proxy.url->scheme != "socks5h") curl_easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, 1L);
  if (!egress.ca_file.empty()) curl_easy_setopt(h, CURLOPT_PROXY_CAINFO, egress.ca_file.c_str());

  const CURLcode rc = curl_easy_perform(h);
  if (body.too_long) return {"", "the echo service's answer is longer than an address"};
  if (rc != CURLE_OK) return {"", scrub(error[0] ? error : curl_easy_strerror(rc), password)};
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return {"", "the echo service answered HTTP " + std::to_string(status)};
  auto ip = parse_ip(body.data);
  if (!ip) return {"", "the echo service's answer is not an IP address"};
  return {*ip, ""};
}

std::vector<std::string> conflicts(const std::vector<Observation>& seen) {
  // ip -> (account, its first egress), in the order seen.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_ip;
  for (const Observation& o : seen) {
    auto& accounts = by_ip[o.ip];
    bool known = false;
    for (const auto& [account, egress] : accounts) known = known || account == o.account;
    if (!known) accounts.emplace_back(o.account, o.egress);
  }
  std::vector<std::string> out;
  for (const auto& [ip, accounts] : by_ip)
    for (std::size_t i = 0; i < accounts.size(); ++i)
      for (std::size_t j = i + 1; j < accounts.size(); ++j)
        out.push_back("CONFLICT: " + ip + " seen for accounts " + accounts[i].first + " (egress " +
                      accounts[i].second + ") and " + accounts[j].first + " (egress " +
                      accounts[j].second + ")");
  return out;
}

}  // namespace relay::app::egress_verify
