#pragma once
// SOCKS5 (RFC 1928) with username/password authentication (RFC 1929), client side: the bytes to
// send and the checks of what comes back. Pure functions: the caller (upstream/proxy_tunnel.cpp)
// does the I/O. The egress scheme is socks5h: the provider's host name goes to the proxy as a
// name, never resolved on the relay.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::upstream::socks5 {

// The greeting: version 5 and the methods offered: "no authentication" (0x00), and
// username/password (0x02) too when the egress has credentials.
std::string greeting(bool with_password);

enum class Method { kNoAuth, kPassword };

struct MethodChoice {
  std::optional<Method> method;  // set on success
  std::string error;             // set otherwise
};

// The proxy's 2-byte answer to the greeting. 0xFF, a method that was not offered, a version other
// than 5 or a size other than 2 are errors.
MethodChoice parse_method_choice(std::string_view reply, bool offered_password);

// RFC 1929 request (version 1). nullopt when the user is empty or user or password is over 255
// bytes.
std::optional<std::string> password_request(std::string_view user, std::string_view password);

// The 2-byte answer to it: "" when accepted, else why (never any part of the credentials).
std::string parse_password_reply(std::string_view reply);

// CONNECT to host:port. An IPv4 literal goes as address type 1, an IPv6 literal (without
// brackets) as type 4, anything else as a domain name (type 3, 1..255 bytes). nullopt when the
// host does not fit.
std::optional<std::string> connect_request(std::string_view host, std::uint16_t port);

// The CONNECT reply is VER REP RSV ATYP ADDR PORT, whose length depends on ATYP (and, for a name,
// on its length byte). Given the bytes that have arrived so far: 0 while fewer than 5 bytes are
// here (the 5th is a name's length byte or part of an address), else the reply's total size; and
// `error` is set instead when the version, reserved byte or address type is invalid. Those are
// checked as soon as they arrive, so a bad reply is refused before the 5th byte too.
struct ReplySize {
  std::size_t total = 0;
  std::string error;
};
ReplySize connect_reply_size(std::string_view first_bytes);

// The whole reply (exactly connect_reply_size(...).total bytes): "" when REP is 0 (succeeded),
// else why, naming RFC 1928's reason for REP 1..8 ("general failure", "connection not allowed by
// ruleset", "network unreachable", "host unreachable", "connection refused", "TTL expired",
// "command not supported", "address type not supported") and the code, e.g.
// "SOCKS5 proxy: connection refused (5)". Malformed input is an error too, never a crash.
std::string parse_connect_reply(std::string_view reply);

}  // namespace relay::upstream::socks5
