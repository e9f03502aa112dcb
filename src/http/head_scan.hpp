#pragma once
// Request smuggling defences that Beast's parser leaves to the application. Beast folds obsolete
// line folding into spaces and accepts a Transfer-Encoding other than chunked (then reads no
// body, so the body would be taken for the next request). The relay refuses both, and every
// other ambiguity, before the parser sees the head.
#include <cstddef>
#include <string_view>

#include "http/message.hpp"

namespace relay::http {

// Scans the raw bytes of a request head as they arrive: request line and header lines must end
// in CRLF, and carry no NUL, no other control byte than HTAB, no bare CR or LF, no obs-fold, no
// whitespace in or before a field name's colon.
class HeadScanner {
 public:
  enum class State { kNeedMore, kDone, kBad };

  // Scans `data`, which must start with the bytes already scanned (the same buffer, grown).
  State scan(std::string_view data);
  // The length of the head including its final CRLF (valid in kDone).
  std::size_t head_size() const { return pos_; }
  // What was wrong (valid in kBad); a fixed text, never request bytes.
  std::string_view problem() const { return problem_; }
  void reset() { *this = HeadScanner(); }

 private:
  State bad(std::string_view why) {
    problem_ = why;
    return State::kBad;
  }
  std::size_t pos_ = 0;
  std::size_t line_ = 0;  // index of the current line (0: the request line)
  bool line_start_ = true;
  bool in_name_ = true;    // before the colon of a header line
  bool after_cr_ = false;  // the previous byte was CR
  std::string_view problem_;
};

// Framing rules checked once the headers are parsed: at most one Content-Length (digits only),
// Transfer-Encoding exactly "chunked" and not together with Content-Length. Returns the problem,
// or "" when the framing is unambiguous.
std::string_view check_framing(const Headers& headers);

}  // namespace relay::http
