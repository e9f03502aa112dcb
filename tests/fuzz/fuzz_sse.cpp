// Fuzz target: the incremental SSE parser and the stream tap (usage extractor), fed whole and in
// uneven pieces, and the non-streaming usage extractor. The invariants are checked, not just
// "no crash".
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sse/sse_parser.hpp"
#include "sse/stream_tap.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  relay::sse::SseParser whole(4096), pieces(4096);
  std::size_t whole_events = 0, piece_events = 0;
  whole.feed(in, [&](const relay::sse::Event& e) {
    ++whole_events;
    if (e.data.size() > 4096) std::abort();
  });
  std::size_t step = size ? 1 + data[0] % 7 : 1;
  for (std::size_t i = 0; i < in.size(); i += step)
    pieces.feed(in.substr(i, step), [&](const relay::sse::Event&) { ++piece_events; });
  // Chunk boundaries must not change what is parsed.
  if (whole_events != piece_events) std::abort();
  // Skipping the data of some events by name changes nothing but that data, which is cut to
  // its first kSkippedPrefix bytes.
  struct Seen {
    std::string type, data;
    bool truncated, cut;
  };
  std::vector<Seen> plain_seen, skip_seen;
  relay::sse::SseParser plain(4096), skipping(4096);
  skipping.skip_data_of([](std::string_view name) { return !name.empty() && name[0] == 's'; });
  for (std::size_t i = 0; i < in.size(); i += step) {
    plain.feed(in.substr(i, step), [&](const relay::sse::Event& e) {
      plain_seen.push_back({std::string(e.type), std::string(e.data), e.truncated, e.cut});
    });
    skipping.feed(in.substr(i, step), [&](const relay::sse::Event& e) {
      skip_seen.push_back({std::string(e.type), std::string(e.data), e.truncated, e.cut});
    });
  }
  if (plain_seen.size() != skip_seen.size() || plain.at_boundary() != skipping.at_boundary())
    std::abort();
  for (std::size_t i = 0; i < plain_seen.size(); ++i) {
    const Seen &a = plain_seen[i], &b = skip_seen[i];
    const std::string want =
        b.cut ? a.data.substr(0, relay::sse::SseParser::kSkippedPrefix) : a.data;
    // Cut only where a skipped name was in force; a name that still is one is always cut once
    // it has data.
    const bool skipped_name = !a.type.empty() && a.type[0] == 's';
    if (a.cut || a.type != b.type || a.truncated != b.truncated || b.data != want ||
        (skipped_name && !b.data.empty() && !b.cut))
      std::abort();
  }
  if (whole.at_boundary() != pieces.at_boundary()) std::abort();
  // The tap (terminal event, response id, usage) reads the same whatever the chunking.
  relay::sse::StreamTap tap, piece_tap;
  tap.feed(in);
  for (std::size_t i = 0; i < in.size(); i += step) piece_tap.feed(in.substr(i, step));
  if (tap.terminal() != piece_tap.terminal() || tap.response_id() != piece_tap.response_id() ||
      tap.events() != piece_tap.events())
    std::abort();
  const auto &u = tap.usage(), &pu = piece_tap.usage();
  if (u.present != pu.present || u.input_tokens != pu.input_tokens ||
      u.output_tokens != pu.output_tokens || u.cached_tokens != pu.cached_tokens ||
      u.reasoning_tokens != pu.reasoning_tokens)
    std::abort();
  // The non-streaming usage extractor reads the same bytes as a whole JSON body.
  relay::sse::usage_from_json_body(in);
  return 0;
}
