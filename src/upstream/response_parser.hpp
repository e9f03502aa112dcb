#pragma once
// An upstream's HTTP/1.1 response, parsed by Beast's parser (its header limit, its chunked
// decoding, its framing checks: Content-Length and Transfer-Encoding together are refused), not
// by one of our own. Body bytes, de-chunked, are appended to a string the caller owns, so a
// response's bytes are copied once between the socket and the client. Beast stays out of this
// header: the units that include it compile quickly (docs/architecture.md, "compile time").
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace relay::upstream {

class ResponseParser {
 public:
  // Body bytes are appended to `body`.
  explicit ResponseParser(std::string& body);
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // A response without a body whatever its headers say: to HEAD, and a proxy's to CONNECT.
  void no_body();

  // Parses what it can of `data` and returns how many bytes it used; the rest must be offered
  // again with more bytes after it. An error means the response is malformed (or too large a
  // head): the connection cannot carry anything more.
  std::size_t feed(std::string_view data, boost::system::error_code& ec);
  // The peer closed: ends a body that runs to the close, or is an error (a cut response).
  void feed_eof(boost::system::error_code& ec);

  bool header_done() const;
  bool done() const;
  // Whether the connection may carry another request once this response is done.
  bool keep_alive() const;
  int status() const { return status_; }
  const http::Headers& headers() const { return headers_; }
  http::Headers take_headers() { return std::move(headers_); }
  std::optional<std::uint64_t> content_length() const;

  // Refused head size: far above any provider's, small enough to bound a hostile one.
  static constexpr std::uint32_t kHeaderLimit = 64 * 1024;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  int status_ = 0;
  http::Headers headers_;
};

}  // namespace relay::upstream
