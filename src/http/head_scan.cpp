#include "http/head_scan.hpp"

#include <cctype>

namespace relay::http {

HeadScanner::State HeadScanner::scan(std::string_view data) {
  for (; pos_ < data.size(); ++pos_) {
    // In the request line and in header values only a control byte needs a look, so a run of
    // other bytes (most of a head) is skipped at once.
    if (!after_cr_ && !line_start_ && !(line_ > 0 && in_name_)) {
      while (pos_ < data.size() && static_cast<unsigned char>(data[pos_]) >= 0x20 &&
             data[pos_] != 0x7f)
        ++pos_;
      if (pos_ == data.size()) break;
    }
    const auto c = static_cast<unsigned char>(data[pos_]);
    if (after_cr_) {
      if (c != '\n') return bad("bare CR in the request head");
      after_cr_ = false;
      if (line_start_) {  // an empty line: the end of the head
        ++pos_;
        return State::kDone;
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
    if (c == '\n') return bad("bare LF in the request head");
    if (c == 0) return bad("NUL in the request head");
    if ((c < 0x20 && c != '\t') || c == 0x7f) return bad("control character in the request head");
    if (line_start_) {
      if (c == ' ' || c == '\t')
        return bad(line_ == 0 ? "whitespace before the request line" : "obsolete line folding");
      line_start_ = false;
    }
    if (line_ > 0 && in_name_) {
      if (c == ':') {
        in_name_ = false;
      } else if (c == ' ' || c == '\t') {
        return bad("whitespace in a header name");
      }
    }
  }
  return State::kNeedMore;
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
