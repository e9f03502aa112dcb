#pragma once
// One metadata record per request (issue 6, docs/records.md), and its journal line codec.
// A record holds exactly these fields: no body, no prompt or completion, no header values
// beyond the client family. Every string is at most kMaxString bytes of valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::records {

struct UsageRecord {
  std::string request_id;
  std::int64_t start_ms = 0;  // unix ms, when the request was accepted
  std::string node;
  std::string region;
  std::string tenant;
  std::string key_id;  // the public key id (key_…), never the key
  std::string account;
  std::string egress;    // "" when direct
  std::string model;     // as the client asked for it
  std::string endpoint;  // the path, never its query
  bool stream = false;
  std::int64_t status = 0;  // HTTP status sent to the client; 0 when none was
  std::string error_code;   // relay-made error code; "" when none
  std::int64_t attempts = 0;
  std::int64_t ttfb_ms = -1;  // to the client's first byte; -1 when none reached it
  std::int64_t duration_ms = 0;
  std::int64_t bytes_in = 0;   // request body
  std::int64_t bytes_out = 0;  // response body
  std::int64_t input_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  bool usage_incomplete = false;  // a stream ended without its terminal usage
  std::string client_family;      // from user-agent / originator, e.g. codex_cli, curl

  bool operator==(const UsageRecord&) const = default;
};

inline constexpr std::size_t kMaxString = 256;
inline constexpr std::int64_t kMaxStatus = 999;

// One JSON object, no newline inside (the caller adds the line's '\n'). Never fails, and its
// output always decodes: strings are cut to kMaxString bytes on a character boundary, invalid
// UTF-8 becomes '?' (%XX in the endpoint), the endpoint loses any query, and a number out of
// its range becomes its minimum (a negative count 0, a ttfb below -1 -1, a status outside
// 0..999 0).
std::string encode(const UsageRecord& r);

// What decode(encode(r)) gives, without the JSON: the journal's consumer takes records pushed in
// this process from memory, and they must be the records a replay of the file would deliver.
UsageRecord normalized(const UsageRecord& r);

// nullopt for anything but exactly what encode writes: not one JSON object, a missing field, a
// wrong type (a float or an integer beyond int64 for a count), a string over kMaxString bytes,
// an endpoint with a '?', a count below 0, a status outside 0..999, an unknown version.
// Unknown extra keys are ignored. Never throws on bad input.
std::optional<UsageRecord> decode(std::string_view line);

}  // namespace relay::records
