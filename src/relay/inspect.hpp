#pragma once
// Phase 4, inspect: reads `model`, `stream` and `prompt_cache_key` from a JSON body without
// rebuilding it; the body is forwarded byte for byte. The parse validates the whole document so
// malformed JSON is refused here instead of being charged to an upstream account.
#include <optional>
#include <string>

#include "http/message.hpp"

namespace relay {

struct BodyInfo {
  bool json = false;  // the body was parsed as JSON
  std::string model;
  bool stream = false;
  bool stream_options = false;  // the body has a "stream_options" member (any value)
  std::string prompt_cache_key;
};

struct InspectResult {
  BodyInfo info;
  std::optional<std::string> error;  // set: 400 invalid_json with this message
};

// `body` must have at least 64 bytes of spare capacity (simdjson padding); the session
// reserves it when it reads the body. Otherwise a padded copy is made.
InspectResult inspect(const http::Request& request);

}  // namespace relay
