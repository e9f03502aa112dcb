// Fuzz target: the usage record line codec (src/records/usage_record.cpp), which reads the
// journal back after a crash. decode never crashes on any input; whatever it accepts is within
// the limits it promises, and survives encode and decode again unchanged; encode's output, for
// any field values at all, always decodes and never holds a newline (one record is one line),
// and decodes to what normalized() makes of the same values (the journal's in-memory path).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "records/usage_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace relay::records;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The input as field values: encode must write a line decode accepts, whatever the bytes.
  UsageRecord raw;
  raw.model = raw.endpoint = std::string(in);
  raw.client_family = std::string(in.substr(size / 2));
  raw.input_tokens = static_cast<std::int64_t>(size) - 100;
  raw.ttfb_ms = 1 - static_cast<std::int64_t>(size);
  raw.status = static_cast<std::int64_t>(size) * 7;
  const std::string raw_line = encode(raw);
  if (raw_line.find('\n') != std::string::npos) std::abort();
  const auto raw_back = decode(raw_line);
  if (!raw_back || !(*raw_back == normalized(raw))) std::abort();

  auto r = decode(in);
  if (!r) return 0;
  for (const std::string* s :
       {&r->request_id, &r->node, &r->region, &r->tenant, &r->key_id, &r->account, &r->egress,
        &r->model, &r->endpoint, &r->error_code, &r->client_family})
    if (s->size() > kMaxString) std::abort();
  if (r->endpoint.find('?') != std::string::npos) std::abort();
  if (r->status < 0 || r->status > kMaxStatus || r->ttfb_ms < -1 || r->input_tokens < 0 ||
      r->cached_tokens < 0 || r->output_tokens < 0 || r->reasoning_tokens < 0 || r->bytes_in < 0 ||
      r->bytes_out < 0 || r->attempts < 0 || r->duration_ms < 0 || r->start_ms < 0)
    std::abort();
  const std::string line = encode(*r);
  if (line.find('\n') != std::string::npos) std::abort();
  auto again = decode(line);
  if (!again || !(*again == *r) || encode(*again) != line || !(normalized(*r) == *r)) std::abort();
  return 0;
}
