#include "redis/url.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "http/url_escape.hpp"

namespace relay::redis {
namespace {

UrlResult fail(std::string why) {
  return {std::nullopt, "redis url: " + std::move(why)};
}

bool parse_int(std::string_view s, int lo, int hi, int& out) {
  if (s.empty() || s.size() > 6) return false;
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

bool is_ip(const std::string& host, bool v6) {
  unsigned char buf[16];
  return inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) == 1;
}

}  // namespace

std::string Endpoint::where() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

UrlResult parse_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme))
    return fail("must start with redis:// (TLS and unix sockets are not supported)");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos)
    return fail("query strings and fragments are not supported");

  Endpoint ep;
  // The userinfo ends at the LAST '@': a password may contain '@' unescaped.
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos)
      return fail("credentials must be written :PASSWORD@ or USER:PASSWORD@");
    if (!http::percent_decode(userinfo.substr(0, colon), ep.user) ||
        !http::percent_decode(userinfo.substr(colon + 1), ep.password))
      return fail("bad percent-escape or control character in the credentials");
  }

  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in the host");
    ep.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(":")) return fail("junk after the IPv6 address");
    if (!after.empty()) port = after.substr(1);
    if (!is_ip(ep.host, true)) return fail("'" + ep.host + "' is not an IPv6 address");
  } else {
    const auto colon = authority.find(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (ep.host.empty()) return fail("the host is missing");
    if (!is_ip(ep.host, false))
      return fail(
          "the host must be an IP address such as 127.0.0.1, not a name (names would "
          "be resolved on the io thread)");
  }
  if (!port.empty() || authority.ends_with(":")) {
    if (!parse_int(port, 1, 65535, ep.port)) return fail("the port must be 1..65535");
  }
  if (!path.empty() && !parse_int(path, 0, 1'000'000, ep.db))
    return fail("the path must be a database number, e.g. /0");
  return {std::move(ep), {}};
}

}  // namespace relay::redis
