#include "http/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

#include "http/connection_writer.hpp"
#include "http/deadline.hpp"

namespace relay::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Parser = bhttp::request_parser<bhttp::string_body>;

namespace {

constexpr std::size_t kJsonPadding = 64;  // simdjson reads up to this far past the body

Request to_request(Parser& parser) {
  auto& msg = parser.get();
  Request r;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  r.headers.reserve(16);
  for (const auto& f : msg)
    r.headers.push_back({to_lower(std::string_view(f.name_string())), std::string(f.value())});
  r.keep_alive = msg.keep_alive();
  r.upgrade = parser.upgrade();
  r.body = std::move(msg.body());
  r.body.reserve(r.body.size() + kJsonPadding);
  return r;
}

bool client_went_away(const boost::system::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}

// What a read error means for the client: a status to answer with, or nothing (it is gone).
std::optional<ErrorCode> classify(const boost::system::error_code& ec, bool timed_out,
                                  bool got_bytes) {
  if (timed_out) return got_bytes ? std::optional(ErrorCode::kRequestTimeout) : std::nullopt;
  if (ec == bhttp::error::header_limit) return ErrorCode::kHeadersTooLarge;
  if (ec == bhttp::error::body_limit) return ErrorCode::kRequestTooLarge;
  if (client_went_away(ec) || ec == asio::error::operation_aborted) return std::nullopt;
  return ErrorCode::kBadRequest;
}

// After refusing a request whose body may still be arriving, read and drop it for a moment
// before closing: closing with unread data makes the kernel send RST, which can destroy the
// error response before the client reads it.
asio::awaitable<void> linger_close(tcp::socket& sock) {
  boost::system::error_code ec;
  sock.shutdown(tcp::socket::shutdown_send, ec);
  Deadline deadline(sock);
  deadline.arm(std::chrono::seconds(2));
  std::array<char, 16384> sink;
  for (std::size_t drained = 0; drained < (256u << 20);) {
    auto [rec, n] = co_await sock.async_read_some(asio::buffer(sink), as_tuple(use_awaitable));
    if (rec) break;
    drained += n;
  }
  deadline.disarm();
  sock.close(ec);
}

}  // namespace

asio::awaitable<void> run_session(tcp::socket sock, RequestHandler& handler,
                                  const SessionLimits& limits) {
  beast::flat_buffer buf;
  Deadline deadline(sock);
  bool first = true;
  for (;;) {
    if (!first && buf.size() == 0) {
      // Idle keep-alive connection: wait for the next request's first byte.
      deadline.arm(limits.keepalive_timeout);
      auto [ec, n] = co_await sock.async_read_some(buf.prepare(4096), as_tuple(use_awaitable));
      deadline.disarm();
      if (ec) break;
      buf.commit(n);
    }
    first = false;

    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    deadline.arm(limits.header_timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(sock, buf, parser, as_tuple(use_awaitable));
    deadline.disarm();

    boost::system::error_code ec = hec;
    bool timed_out = deadline.fired();
    if (!ec) {
      auto expect = parser.get()[bhttp::field::expect];
      if (!expect.empty() && beast::iequals(expect, "100-continue") &&
          parser.content_length().value_or(1) > 0) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        deadline.arm(limits.send_timeout);
        auto [wec, wn] = co_await asio::async_write(
            sock, asio::buffer(kContinue.data(), kContinue.size()), as_tuple(use_awaitable));
        deadline.disarm();
        if (wec) break;
      }
      if (!parser.is_done()) {
        deadline.arm(limits.body_timeout);
        auto [bec, bn] = co_await bhttp::async_read(sock, buf, parser, as_tuple(use_awaitable));
        deadline.disarm();
        ec = bec;
        timed_out = deadline.fired();
      }
    }

    bool http10 = parser.is_header_done() && parser.get().version() == 10;
    if (ec || timed_out) {
      auto code = classify(ec, timed_out, parser.got_some() || buf.size() > 0);
      if (code && sock.is_open()) {
        Request partial;
        if (parser.is_header_done()) {
          partial = to_request(parser);
          partial.body.clear();
        }
        {
          ConnectionWriter out(sock, limits.send_timeout, false, http10);
          co_await handler.reject(*code, partial, out);
        }
        co_await linger_close(sock);
      }
      co_return;
    }

    Request request = to_request(parser);
    ConnectionWriter out(sock, limits.send_timeout, request.keep_alive, http10);
    co_await handler.handle(request, out);
    if (!out.reusable()) break;
  }
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
  sock.close(ignored);
}

}  // namespace relay::http
