#pragma once
// Parses an egress (forward proxy) URL: SCHEME://[USER:PASSWORD@]HOST:PORT[/], where SCHEME is
// http, https or socks5h. The port is required: proxies have no common default, and guessing
// one would send traffic somewhere unintended. User and password are percent-decoded.
//
// Refused, with a message that says what is wrong: other schemes (socks5:// resolves names on
// the relay, so the provider's address would be looked up outside the egress), paths, queries,
// fragments, a missing port. Error messages never repeat any part of the input, so a password
// cannot leak through them, however the URL is mistyped.
#include <optional>
#include <string>
#include <string_view>

namespace relay::egress {

struct ProxyUrl {
  std::string scheme;  // "http", "https" or "socks5h" (lowercase)
  std::string host;    // lowercase name, or an IP literal (IPv6 without brackets)
  int port = 0;        // 1..65535
  std::string user;    // decoded; "" with no credentials
  std::string password;

  // scheme://host:port without credentials: the proxy's identity (two egresses with the same
  // endpoint are the same proxy, whatever credentials they carry).
  std::string endpoint() const;
  // The URL with the password replaced by ***: safe to print and log.
  std::string redacted() const;
  // The URL as CURLOPT_PROXY takes it, credentials percent-encoded. Holds the password.
  std::string for_curl() const;
};

struct ProxyUrlResult {
  std::optional<ProxyUrl> url;
  std::string error;  // set when url is not; never contains any of the input
};

ProxyUrlResult parse_proxy_url(std::string_view text);

}  // namespace relay::egress
