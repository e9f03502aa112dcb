#include "upstream/socks5.hpp"

#include <arpa/inet.h>

#include <array>

namespace relay::upstream::socks5 {
namespace {

constexpr unsigned char kVersion = 0x05;
constexpr unsigned char kPasswordVersion = 0x01;
constexpr unsigned char kNoAuth = 0x00;
constexpr unsigned char kPassword = 0x02;
constexpr unsigned char kNoAcceptable = 0xFF;
constexpr unsigned char kConnect = 0x01;
constexpr unsigned char kIPv4 = 0x01;
constexpr unsigned char kName = 0x03;
constexpr unsigned char kIPv6 = 0x04;
constexpr std::size_t kMaxField = 255;
// VER REP RSV ATYP, then the address, then 2 bytes of port.
constexpr std::size_t kReplyFixed = 4 + 2;

unsigned char byte_at(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]);
}

void put(std::string& out, unsigned char b) {
  out.push_back(static_cast<char>(b));
}

// Errors carry decimal codes only, never raw reply bytes, so they stay printable in a log line.
std::string fail(std::string_view why) {
  return "SOCKS5 proxy: " + std::string(why);
}

std::string fail(std::string_view why, unsigned code) {
  return fail(why) + " (" + std::to_string(code) + ")";
}

// Writes the address bytes of an `family` literal into out; false when host is not one. inet_pton
// reads a C string, so a host with a NUL in it is never taken for a literal.
template <std::size_t N>
bool literal(std::string_view host, int family, std::array<unsigned char, N>& out) {
  if (host.find('\0') != std::string_view::npos) return false;
  const std::string text(host);
  return inet_pton(family, text.c_str(), out.data()) == 1;
}

}  // namespace

std::string greeting(bool with_password) {
  std::string out;
  put(out, kVersion);
  put(out, with_password ? 2 : 1);  // how many methods follow
  put(out, kNoAuth);
  if (with_password) put(out, kPassword);
  return out;
}

MethodChoice parse_method_choice(std::string_view reply, bool offered_password) {
  if (reply.size() != 2) return {std::nullopt, fail("malformed method choice")};
  if (byte_at(reply, 0) != kVersion) return {std::nullopt, fail("not a SOCKS5 proxy")};
  const unsigned char m = byte_at(reply, 1);
  if (m == kNoAuth) return {Method::kNoAuth, {}};
  if (m == kPassword && offered_password) return {Method::kPassword, {}};
  if (m == kNoAcceptable) {
    return {std::nullopt, fail(offered_password ? "no acceptable authentication method"
                                                : "requires authentication, none configured")};
  }
  return {std::nullopt, fail("chose a method that was not offered", m)};
}

std::optional<std::string> password_request(std::string_view user, std::string_view password) {
  if (user.empty() || user.size() > kMaxField || password.size() > kMaxField) return std::nullopt;
  std::string out;
  out.reserve(3 + user.size() + password.size());
  put(out, kPasswordVersion);
  put(out, static_cast<unsigned char>(user.size()));
  out.append(user);
  put(out, static_cast<unsigned char>(password.size()));
  out.append(password);
  return out;
}

std::string parse_password_reply(std::string_view reply) {
  if (reply.size() != 2 || byte_at(reply, 0) != kPasswordVersion)
    return fail("malformed authentication reply");
  const unsigned char status = byte_at(reply, 1);
  if (status != 0) return fail("username/password authentication failed", status);
  return {};
}

std::optional<std::string> connect_request(std::string_view host, std::uint16_t port) {
  std::string out;
  put(out, kVersion);
  put(out, kConnect);
  put(out, 0x00);
  std::array<unsigned char, 4> v4{};
  std::array<unsigned char, 16> v6{};
  if (literal(host, AF_INET, v4)) {
    put(out, kIPv4);
    out.append(v4.begin(), v4.end());
  } else if (literal(host, AF_INET6, v6)) {
    put(out, kIPv6);
    out.append(v6.begin(), v6.end());
  } else {
    if (host.empty() || host.size() > kMaxField) return std::nullopt;
    put(out, kName);
    put(out, static_cast<unsigned char>(host.size()));
    out.append(host);
  }
  put(out, static_cast<unsigned char>(port >> 8));
  put(out, static_cast<unsigned char>(port & 0xFF));
  return out;
}

ReplySize connect_reply_size(std::string_view first_bytes) {
  const std::size_t n = first_bytes.size();
  if (n > 0 && byte_at(first_bytes, 0) != kVersion) return {0, fail("not a SOCKS5 reply")};
  if (n > 2 && byte_at(first_bytes, 2) != 0x00) return {0, fail("malformed CONNECT reply")};
  if (n > 3) {
    const unsigned char atyp = byte_at(first_bytes, 3);
    if (atyp != kIPv4 && atyp != kName && atyp != kIPv6)
      return {0, fail("unknown address type in CONNECT reply", atyp)};
  }
  if (n < 5) return {};
  switch (byte_at(first_bytes, 3)) {
    case kIPv4:
      return {kReplyFixed + 4, {}};
    case kIPv6:
      return {kReplyFixed + 16, {}};
    default:  // a name: its length byte, then that many bytes
      return {kReplyFixed + 1 + byte_at(first_bytes, 4), {}};
  }
}

std::string parse_connect_reply(std::string_view reply) {
  const ReplySize size = connect_reply_size(reply);
  if (!size.error.empty()) return size.error;
  if (size.total == 0 || reply.size() < size.total) return fail("truncated CONNECT reply");
  if (reply.size() > size.total) return fail("CONNECT reply longer than its address type implies");
  const unsigned char rep = byte_at(reply, 1);
  static constexpr std::array<std::string_view, 9> kReasons = {
      "succeeded",           "general failure",       "connection not allowed by ruleset",
      "network unreachable", "host unreachable",      "connection refused",
      "TTL expired",         "command not supported", "address type not supported",
  };
  if (rep == 0) return {};
  if (rep < kReasons.size()) return fail(kReasons[rep], rep);
  return fail("unknown reply code", rep);
}

}  // namespace relay::upstream::socks5
