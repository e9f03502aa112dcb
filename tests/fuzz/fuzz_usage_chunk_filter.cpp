// Fuzz target: the chat usage-chunk filter. Whatever the stream and however it is cut into
// chunks (the first byte picks the chunk size), the output is the input with whole usage-only
// events removed: never longer, the same bytes when nothing was removed, and the same for every
// chunking.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sse/usage_chunk_filter.hpp"

namespace {

std::string run(std::string_view in, std::size_t piece, std::size_t& removed) {
  relay::sse::UsageChunkFilter f;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += piece) f.feed(in.substr(i, piece), out);
  f.flush(out);
  removed = f.removed();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 17;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t removed_a = 0;
  std::size_t removed_b = 0;
  const std::string a = run(in, piece, removed_a);
  const std::string b = run(in, in.size() + 1, removed_b);
  if (a != b || removed_a != removed_b) std::abort();
  if (a.size() > in.size()) std::abort();
  if (removed_a == 0 && a != in) std::abort();
  return 0;
}
