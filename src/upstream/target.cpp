#include "upstream/target.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace relay::upstream {

namespace {

bool plain_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f && c != '#';
}

bool host_name_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

std::optional<Target> parse_target(std::string_view url) {
  Target t;
  if (url.starts_with("https://")) {
    t.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  for (char c : url)
    if (!plain_byte(c)) return std::nullopt;
  const auto slash = std::min(url.find('/'), url.find('?'));
  std::string_view authority = url.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? std::string_view() : url.substr(slash);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view host;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port_text = after.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) return std::nullopt;
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return std::nullopt;
    }
    if (host.empty() || host.size() > 253) return std::nullopt;
    for (char c : host)
      if (!host_name_byte(c)) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  int port = t.tls ? 443 : 80;
  if (!port_text.empty()) {
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port < 1 || port > 65535)
      return std::nullopt;
  }
  t.host = std::string(host);
  t.port = static_cast<std::uint16_t>(port);
  t.authority = std::string(authority);
  if (rest.empty()) {
    t.path = "/";
  } else if (rest.front() == '?') {
    t.path = "/";
    t.path += rest;
  } else {
    t.path = std::string(rest);
  }
  return t;
}

}  // namespace relay::upstream
