#pragma once
// Where an upstream request goes, split from the URL that forward.cpp builds from the account's
// base URL (admin_fields.cpp only checks its scheme, so anything may follow).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::upstream {

struct Target {
  bool tls = false;  // https
  std::string host;  // a name, or an IP literal (IPv6 without brackets)
  std::uint16_t port = 0;
  std::string authority;  // the Host header: host[:port], IPv6 in brackets
  std::string path;       // origin form: /path?query, at least "/"
};

// http[s]://host[:port][/path][?query]. nullopt: another scheme, credentials in the URL (never
// sent), an empty or malformed host, a port outside 1..65535, a fragment, or a byte that could
// break the request line (control, space).
std::optional<Target> parse_target(std::string_view url);

}  // namespace relay::upstream
