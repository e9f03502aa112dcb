#pragma once
// Plain request/response types shared by the phases. They carry no Beast types so that phase
// units and their tests compile quickly (see docs/architecture.md, "compile time").
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::http {

struct Header {
  std::string name;  // lower-case
  std::string value;
};
using Headers = std::vector<Header>;

// Returns the first header with this lower-case name, or nullptr.
const std::string* find_header(const Headers& headers, std::string_view lower_name);

struct Request {
  std::string method;  // as sent, e.g. "POST"
  std::string target;  // path and query, e.g. /v1/responses?x=1
  Headers headers;
  std::string body;
  bool keep_alive = true;
  bool upgrade = false;  // Connection: upgrade (WebSocket attempt)
  // The peer's IP address as text, for per-address limits only: never logged or stored.
  std::string client_ip;

  std::string_view path() const;  // target without the query
};

struct ResponseHead {
  int status = 200;
  Headers headers;
  std::optional<std::size_t> content_length;  // nullopt: chunked
};

std::string_view reason_phrase(int status);
std::string to_lower(std::string_view s);
// ASCII case-insensitive equality (header names and tokens).
bool iequals(std::string_view a, std::string_view b);

}  // namespace relay::http
