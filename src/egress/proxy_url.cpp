#include "egress/proxy_url.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "http/url_escape.hpp"

namespace relay::egress {
namespace {

constexpr std::size_t kMaxLength = 4096;
constexpr std::size_t kMaxHost = 253;

ProxyUrlResult fail(const std::string& why) {
  return {std::nullopt, "proxy url: " + why};
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// The canonical text of an IP literal (so [0:0::1] and [::1] are one endpoint), or "".
std::string canonical_ip(const std::string& host, int family) {
  unsigned char buf[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(family, host.c_str(), buf) != 1) return {};
  if (!inet_ntop(family, buf, text, sizeof text)) return {};
  return text;
}

bool is_host_name(std::string_view h) {
  if (h.empty() || h.size() > kMaxHost) return false;
  for (char c : h) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool parse_port(std::string_view s, int& out) {
  if (s.empty() || s.size() > 5) return false;
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 1 || v > 65535) return false;
  out = v;
  return true;
}

// host[:port] into u; "" on success, else the reason.
std::string parse_authority(std::string_view a, ProxyUrl& u) {
  std::string_view port;
  bool has_port = false;
  if (a.starts_with('[')) {
    const auto close = a.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in the host";
    u.host = canonical_ip(std::string(a.substr(1, close - 1)), AF_INET6);
    if (u.host.empty()) return "the bracketed host is not an IPv6 address";
    std::string_view after = a.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return "junk after the IPv6 address";
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
  } else {
    const auto colon = a.find(':');
    u.host = lowercase(a.substr(0, colon));
    has_port = colon != std::string_view::npos;
    if (has_port) port = a.substr(colon + 1);
    if (u.host.empty()) return "the host is missing";
    if (!is_host_name(u.host))
      return "the host must be a name (letters, digits, '.', '-', '_'), an IPv4 address or an "
             "IPv6 address in brackets";
    if (std::string ip = canonical_ip(u.host, AF_INET); !ip.empty()) u.host = ip;
  }
  if (!has_port) return "the port is required, e.g. http://proxy.example:3128";
  if (!parse_port(port, u.port)) return "the port must be a number 1..65535";
  return {};
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string ProxyUrl::endpoint() const {
  return scheme + "://" + bracketed(host) + ":" + std::to_string(port);
}

std::string ProxyUrl::redacted() const {
  std::string creds;
  if (!user.empty() || !password.empty())
    creds = http::percent_encode(user) + ":" + (password.empty() ? "" : "***") + "@";
  return scheme + "://" + creds + bracketed(host) + ":" + std::to_string(port);
}

std::string ProxyUrl::for_curl() const {
  std::string creds;
  if (!user.empty() || !password.empty())
    creds = http::percent_encode(user) + ":" + http::percent_encode(password) + "@";
  return scheme + "://" + creds + bracketed(host) + ":" + std::to_string(port);
}

ProxyUrlResult parse_proxy_url(std::string_view text) {
  if (text.size() > kMaxLength) return fail("longer than 4096 characters");
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail("must start with http://, https:// or socks5h://");
  ProxyUrl u;
  u.scheme = lowercase(text.substr(0, sep));
  if (u.scheme == "socks5")
    return fail("use socks5h:// so names resolve at the egress, not on the relay");
  if (u.scheme != "http" && u.scheme != "https" && u.scheme != "socks5h")
    return fail("the scheme must be http://, https:// or socks5h://");
  std::string_view rest = text.substr(sep + 3);

  // The credentials end at the LAST '@': a password may hold '@', '/', '?' or '#' unescaped.
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) return fail("credentials must be written USER:PASSWORD@");
    if (!http::percent_decode(userinfo.substr(0, colon), u.user) ||
        !http::percent_decode(userinfo.substr(colon + 1), u.password))
      return fail("bad percent-escape or control character in the credentials");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);  // "http://proxy:3128/" is common
  if (rest.find_first_of("/?#") != std::string_view::npos)
    return fail("a proxy URL has no path, query or fragment");
  if (std::string why = parse_authority(rest, u); !why.empty()) return fail(why);
  return {std::move(u), {}};
}

}  // namespace relay::egress
