// Fuzz target: what the relay parses of an upstream's bytes and of an account's URL. The first
// byte picks the parser and, for a response, how the rest is cut into reads:
//  - a response (src/upstream/response_parser.cpp) fed in pieces, as reads would bring it: it
//    never uses more than it is given, never takes bytes once done, never yields more body than
//    it was fed, and a head, once done, has a status in 100..999;
//  - a target URL (src/upstream/target.cpp): a parse has a host, a port in range, an origin-form
//    path, and no byte that could break a request line.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "upstream/response_parser.hpp"
#include "upstream/target.hpp"

namespace {

void check_target(std::string_view text) {
  auto t = relay::upstream::parse_target(text);
  if (!t) return;
  if (t->host.empty() || t->port == 0 || t->path.empty() || t->path.front() != '/') std::abort();
  for (std::string_view part : {std::string_view(t->path), std::string_view(t->authority)})
    for (char c : part)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) std::abort();
}

void check_response(std::uint8_t mode, std::string_view text) {
  std::string body;
  relay::upstream::ResponseParser parser(body);
  if (mode & 2) parser.no_body();
  // Read sizes from 1 to 64 bytes, so heads and chunk headers are cut everywhere.
  const std::size_t step = 1 + (mode >> 2);
  std::string pending;
  std::size_t fed = 0;
  boost::system::error_code ec;
  while (fed < text.size() && !ec) {
    std::size_t n = std::min(step, text.size() - fed);
    pending.append(text.substr(fed, n));
    fed += n;
    const bool was_done = parser.done();
    std::size_t used = parser.feed(pending, ec);
    if (used > pending.size()) std::abort();
    if (was_done && used != 0) std::abort();
    pending.erase(0, used);
    if (parser.header_done() && (parser.status() < 100 || parser.status() > 999)) std::abort();
    if (pending.size() > relay::upstream::ResponseParser::kHeaderLimit + 64 && !parser.done() &&
        !ec && !parser.header_done())
      std::abort();  // a head that never ends must be refused, not buffered without end
  }
  if (!ec) parser.feed_eof(ec);
  if (body.size() > text.size()) std::abort();
  if (parser.done() && !parser.header_done()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1)
    check_target(rest);
  else
    check_response(data[0], rest);
  return 0;
}
