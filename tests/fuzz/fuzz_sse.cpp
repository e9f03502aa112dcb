// Fuzz target: the incremental SSE parser and the stream tap, fed in uneven pieces. The
// invariants are checked, not just "no crash".
#include <cstdint>
#include <cstdlib>
#include <string_view>

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
  if (whole.at_boundary() != pieces.at_boundary()) std::abort();
  relay::sse::StreamTap tap;
  tap.feed(in);
  return 0;
}
