#include "http/head_scan.hpp"

#include <cctype>

namespace relay::http {

// Walks with a local index (a member would be stored back on every byte) and skips runs of
// bytes that need no look: any but a control byte in the request line and in header values,
// token bytes in a header name. Most of a head is such runs.
HeadScanner::State HeadScanner::scan(std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size();
  std::size_t i = pos_;
  const auto stop = [&](State st) {
    pos_ = i;
    return st;
  };
  for (; i < n; ++i) {
    if (!after_cr_ && !line_start_) {
      if (line_ > 0 && in_name_) {
        while (i < n && p[i] > 0x20 && p[i] != 0x7f && p[i] != ':') ++i;
      } else {
        while (i < n && p[i] >= 0x20 && p[i] != 0x7f) ++i;
      }
      if (i == n) break;
    }
    const unsigned char c = p[i];
    if (after_cr_) {
      if (c != '\n') return stop(bad("bare CR in the request head"));
      after_cr_ = false;
      if (line_start_) {  // an empty line: the end of the head
        ++i;
        return stop(State::kDone);
      }
      line_start_ = true;
      in_name_ = true;
      ++line_;
      continue;
    }
    if (c == '\r') {
      after_cr_ = true;
      continue;
    }
    if (c == '\n') return stop(bad("bare LF in the request head"));
    if (c == 0) return stop(bad("NUL in the request head"));
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return stop(bad("control character in the request head"));
    if (line_start_) {
      if (c == ' ' || c == '\t')
        return stop(
            bad(line_ == 0 ? "whitespace before the request line" : "obsolete line folding"));
      line_start_ = false;
    }
    if (line_ > 0 && in_name_) {
      if (c == ':') {
        in_name_ = false;
      } else if (c == ' ' || c == '\t') {
        return stop(bad("whitespace in a header name"));
      }
    }
  }
  return stop(State::kNeedMore);
}

namespace {

bool all_digits(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::string_view check_framing(const Headers& headers) {
  int content_lengths = 0;
  int transfer_encodings = 0;
  for (const auto& h : headers) {
    if (h.name == "content-length") {
      if (++content_lengths > 1) return "more than one Content-Length";
      if (!all_digits(h.value)) return "Content-Length is not a number";
    } else if (h.name == "transfer-encoding") {
      if (++transfer_encodings > 1) return "more than one Transfer-Encoding";
      if (!iequals(h.value, "chunked")) return "Transfer-Encoding other than chunked";
    }
  }
  if (content_lengths > 0 && transfer_encodings > 0)
    return "both Content-Length and Transfer-Encoding";
  return {};
}

}  // namespace relay::http
