#pragma once
// Percent-escapes in the userinfo of the URLs an operator configures (redis.url, egress URLs).
#include <string>
#include <string_view>

namespace relay::http {

// Decodes %XX escapes into `out`; false on a broken escape or a control byte, encoded or not (a
// NUL would cut a C string short, and a CR or LF has no place in a credential).
bool percent_decode(std::string_view in, std::string& out);

// Escapes everything but RFC 3986's unreserved characters, so the result parses back exactly.
std::string percent_encode(std::string_view in);

}  // namespace relay::http
