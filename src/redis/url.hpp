#pragma once
// Parses `[redis] url`: redis://[[USER]:PASSWORD@]IP[:PORT][/DB]. The host must be an IP
// literal (IPv4, or IPv6 in brackets): hiredis 0.14 resolves names with a blocking
// getaddrinfo on the io thread (stack-notes.md), which a relay must never do. Percent-escapes
// are decoded in the user and password. Anything else (a query, a fragment, rediss://, unix
// sockets) is refused with a message that says what is wrong, never echoing the password.
#include <optional>
#include <string>
#include <string_view>

namespace relay::redis {

struct Endpoint {
  std::string host;  // an IP literal, without brackets
  int port = 6379;
  int db = 0;
  std::string user;      // empty: AUTH with the password only (Redis < 6 style)
  std::string password;  // empty: no AUTH

  // host:port, for logs (never the password).
  std::string where() const;
};

struct UrlResult {
  std::optional<Endpoint> endpoint;
  std::string error;  // set when endpoint is not
};

UrlResult parse_url(std::string_view url);

}  // namespace relay::redis
