#pragma once
// What one request carries from phase to phase. Owned by the pipeline's coroutine.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "relay/inspect.hpp"
#include "sse/stream_tap.hpp"
#include "store/snapshot.hpp"

namespace relay {

enum class Outcome {
  kOk,               // the response went out whole
  kRejected,         // the relay answered with an error before forwarding
  kUpstreamError,    // the upstream failed (before or after the first byte)
  kClientCancelled,  // the client hung up before the end
};

std::string_view to_string(Outcome o);

class RecordSink;

struct RequestContext {
  std::string request_id;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::int64_t started_unix_ms = 0;  // the same instant on the wall clock, for the record
  std::string method;
  std::string path;
  std::string client_family;    // client_family.hpp: a fixed name, never a header's value
  std::int64_t bytes_in = 0;    // request body
  store::SnapshotPtr snapshot;  // the config this request sees, start to end
  const store::SnapshotKey* key = nullptr;          // identify
  BodyInfo body;                                    // inspect
  const store::SnapshotAccount* account = nullptr;  // route: the account of the last attempt
  int attempts = 0;                                 // accounts tried
  std::string egress;  // the egress of the last attempt ("" when direct)

  http::Headers response_headers;  // added to whatever the client gets (admit's rate headers)

  int status = 0;
  std::string_view error_code;  // relay-made error code, if any
  Outcome outcome = Outcome::kOk;
  std::optional<std::chrono::milliseconds> first_byte;  // to the client
  std::int64_t bytes_out = 0;                           // response body bytes sent
  sse::Usage usage;
  bool usage_expected = false;  // a stream or JSON answer that should have carried usage
  // The relay asked for a chat stream's usage chunk on the client's behalf (usage_option.hpp)
  // and takes it out of what the client gets.
  bool strip_usage_chunk = false;

  // Where the request's metadata record goes (record.hpp); null: no record (local routes).
  RecordSink* records = nullptr;
  bool recorded = false;  // the record has been handed over; it is written once
};

}  // namespace relay
