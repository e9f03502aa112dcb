#pragma once
// Removes the usage-only chunk from a Chat Completions stream. The relay asks the provider for
// that chunk (stream_options.include_usage) when the client did not, so that every stream's
// tokens are counted (docs/records.md); the client did not ask for it, and a client that reads
// choices[0] of every chunk would fail on its empty choices, so it is taken out again here.
// Every other byte passes through unchanged and in order; only whole events are released, so a
// chunk that ends mid-event holds its tail until the event ends.
#include <cstddef>
#include <string>
#include <string_view>

namespace relay::sse {

class UsageChunkFilter {
 public:
  // Appends what may go to the client now to `out`.
  void feed(std::string_view chunk, std::string& out);
  // The end of the stream: whatever is held goes out as it is.
  void flush(std::string& out);
  std::size_t removed() const { return removed_; }

  // An event longer than this is passed through without a look (a usage chunk is small).
  static constexpr std::size_t kMaxEvent = std::size_t{1} << 20;

 private:
  void release(std::string& out, bool at_end);

  std::string pending_;
  std::size_t scan_ = 0;        // pending_ is scanned for an event's end from here
  std::size_t line_start_ = 0;  // start of the line being scanned
  bool passthrough_ = false;    // inside an over-long event whose start has gone out
  std::size_t removed_ = 0;
};

// True for the data of a usage-only chunk: a JSON object whose "choices" is an empty array and
// whose "usage" is an object.
bool is_usage_only_chunk(std::string_view data);

}  // namespace relay::sse
