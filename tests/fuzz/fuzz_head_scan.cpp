// Fuzz target: the raw request-head scanner and the framing check (src/http/head_scan.hpp).
// Fed in one piece or split in two, the scanner reaches the same verdict at the same place; an
// accepted head holds no NUL, bare CR or LF, control byte or folded line, and ends in CRLFCRLF.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/head_scan.hpp"

using relay::http::HeadScanner;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  HeadScanner whole;
  auto verdict = whole.scan(text);

  HeadScanner split;
  auto first = split.scan(text.substr(0, size / 2));
  auto second = first == HeadScanner::State::kNeedMore ? split.scan(text) : first;
  if (second != verdict) std::abort();
  if (verdict == HeadScanner::State::kDone && split.head_size() != whole.head_size()) std::abort();
  if (verdict == HeadScanner::State::kBad && whole.problem().empty()) std::abort();

  if (verdict == HeadScanner::State::kDone) {
    std::string_view head = text.substr(0, whole.head_size());
    if (head.size() < 2 || head.substr(head.size() - 2) != "\r\n") std::abort();
    for (std::size_t i = 0; i < head.size(); ++i) {
      auto c = static_cast<unsigned char>(head[i]);
      if (c == 0 || (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) std::abort();
      if (c == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n')) std::abort();
      if (c == '\n' && (i == 0 || head[i - 1] != '\r')) std::abort();
      if (c == '\n' && i + 1 < head.size() && (head[i + 1] == ' ' || head[i + 1] == '\t'))
        std::abort();
    }
  }

  // The framing check on header-shaped pairs cut from the input: any verdict, never a crash.
  relay::http::Headers headers;
  std::size_t half = size / 2;
  headers.push_back({"content-length", std::string(text.substr(0, half))});
  headers.push_back({"transfer-encoding", std::string(text.substr(half))});
  (void)relay::http::check_framing(headers);
  return 0;
}
