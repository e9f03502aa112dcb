#include "http/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

#include "base/log.hpp"
#include "http/connection_writer.hpp"
#include "http/deadline.hpp"
#include "http/head_scan.hpp"
#include "http/stream.hpp"

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

// Method, target and headers; the body is moved in once it is read.
Request request_head(Parser& parser, const std::string& client_ip) {
  auto& msg = parser.get();
  Request r;
  r.client_ip = client_ip;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  // Exactly as many as there are: the vector lives as long as the response, which for a slow
  // stream is minutes (bench/README.md, W4's memory).
  r.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& f : msg)
    r.headers.push_back({to_lower(std::string_view(f.name_string())), std::string(f.value())});
  r.keep_alive = msg.keep_alive();
  r.upgrade = parser.upgrade();
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

void count(const SessionLimits& limits, std::atomic<std::uint64_t> SessionCounters::*which) {
  if (limits.counters != nullptr) (limits.counters->*which).fetch_add(1, std::memory_order_relaxed);
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

// The refusals live in coroutines of their own so that their locals take no room in
// run_session's frame, which every open connection keeps for as long as it is open.
asio::awaitable<void> reject_request(Stream& stream, RequestHandler& handler,
                                     const SessionLimits& limits, ErrorCode code,
                                     const Request& request, bool http10) {
  {
    ConnectionWriter out(stream, limits, false, http10);
    co_await handler.reject(code, request, out);
  }
  co_await linger_close(stream.socket());
}

asio::awaitable<void> refuse_connection(Stream& stream, RequestHandler& handler,
                                        const SessionLimits& limits, ErrorCode code,
                                        const std::string& client_ip) {
  Request none;
  none.client_ip = client_ip;
  co_await reject_request(stream, handler, limits, code, none, false);
}

struct HeadResult {
  boost::system::error_code ec;  // a read error, or a parse error from Beast
  bool timed_out = false;
  std::optional<ErrorCode> refused;  // the head broke a rule (HeadScanner, size)
};

// Reads until the head is complete, scanning the raw bytes before Beast parses them (Beast
// folds obs-fold silently, so the raw bytes are the only place to see it).
asio::awaitable<HeadResult> read_head(Stream& stream, beast::flat_buffer& buf, Parser& parser,
                                      Deadline& deadline, const SessionLimits& limits) {
  HeadResult r;
  HeadScanner scanner;
  for (;;) {
    auto data = buf.data();
    std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    auto state = scanner.scan(bytes);
    if (state == HeadScanner::State::kBad) {
      log::event(spdlog::level::debug, "request_head_refused", {{"problem", scanner.problem()}});
      r.refused = ErrorCode::kBadRequest;
      co_return r;
    }
    if (state == HeadScanner::State::kDone) break;
    if (bytes.size() >= limits.max_header_bytes) {
      r.refused = ErrorCode::kHeadersTooLarge;
      co_return r;
    }
    auto [ec, n] = co_await stream.async_read_some(buf.prepare(4096), as_tuple(use_awaitable));
    if (ec) {
      r.ec = ec;
      r.timed_out = deadline.fired();
      co_return r;
    }
    buf.commit(n);
  }
  std::size_t used = parser.put(asio::buffer(buf.data().data(), scanner.head_size()), r.ec);
  buf.consume(used);
  if (!r.ec && !parser.is_header_done()) r.ec = bhttp::error::bad_method;  // an empty head
  co_return r;
}

}  // namespace

asio::awaitable<void> run_session(tcp::socket sock, std::shared_ptr<asio::ssl::context> tls,
                                  RequestHandler& handler, const SessionLimits& limits,
                                  std::optional<ErrorCode> refuse) {
  boost::system::error_code pec;
  auto peer = sock.remote_endpoint(pec);
  const std::string client_ip = pec ? std::string() : peer.address().to_string();
  Stream stream(std::move(sock), std::move(tls));
  Deadline deadline(stream.socket());
  if (stream.is_tls()) {
    deadline.arm(limits.header_timeout);
    auto hec = co_await stream.handshake();
    deadline.disarm();
    if (hec || deadline.fired()) {
      count(limits, &SessionCounters::tls_handshake_failures);
      const std::string reason = deadline.fired() ? "timed out" : hec.message();
      log::event(spdlog::level::debug, "tls_handshake_failed", {{"reason", reason}});
      boost::system::error_code ignored;
      stream.socket().close(ignored);
      co_return;
    }
  }
  if (refuse) {
    co_await refuse_connection(stream, handler, limits, *refuse, client_ip);
    co_return;
  }

  beast::flat_buffer buf;
  bool first = true;
  for (;;) {
    if (!first && buf.size() == 0) {
      // Idle keep-alive connection: wait for the next request's first byte. The response has
      // just been written (at once, on a plain connection), and a client that does not pipeline
      // sends nothing before it has read it: a read now would find nothing and cost a system
      // call. One turn of the io thread's queue first, as an awaited write gives (TLS still
      // awaits its writes, so it has had that turn).
      if (!stream.is_tls()) co_await asio::post(stream.get_executor(), use_awaitable);
      deadline.arm(limits.keepalive_timeout);
      auto [ec, n] = co_await stream.async_read_some(buf.prepare(4096), as_tuple(use_awaitable));
      deadline.disarm();
      if (ec) break;
      buf.commit(n);
    }
    first = false;

    // Dropped once the request is read, with its copy of the header fields (below).
    std::optional<Parser> parser_storage(std::in_place);
    Parser& parser = *parser_storage;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    deadline.arm(limits.header_timeout);
    HeadResult head = co_await read_head(stream, buf, parser, deadline, limits);
    deadline.disarm();

    boost::system::error_code ec = head.ec;
    bool timed_out = head.timed_out;
    std::optional<ErrorCode> refused = head.refused;
    Request request;
    if (!ec && !refused) {
      request = request_head(parser, client_ip);
      if (auto problem = check_framing(request.headers); !problem.empty()) {
        log::event(spdlog::level::debug, "request_head_refused", {{"problem", problem}});
        refused = ErrorCode::kBadRequest;
      }
    }
    if (!ec && !refused) {
      auto expect = parser.get()[bhttp::field::expect];
      if (!expect.empty() && beast::iequals(expect, "100-continue") &&
          parser.content_length().value_or(1) > 0) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        deadline.arm(limits.send_timeout);
        auto [wec, wn] = co_await asio::async_write(
            stream, asio::buffer(kContinue.data(), kContinue.size()), as_tuple(use_awaitable));
        deadline.disarm();
        if (wec) break;
      }
      if (!parser.is_done()) {
        deadline.arm(limits.body_timeout);
        auto [bec, bn] = co_await bhttp::async_read(stream, buf, parser, as_tuple(use_awaitable));
        deadline.disarm();
        ec = bec;
        timed_out = deadline.fired();
      }
    }

    bool http10 = parser.is_header_done() && parser.get().version() == 10;
    if (ec || timed_out || refused) {
      if (refused && *refused == ErrorCode::kBadRequest)
        count(limits, &SessionCounters::bad_request_heads);
      auto code = refused ? refused : classify(ec, timed_out, parser.got_some() || buf.size() > 0);
      if (code && stream.socket().is_open()) {
        request.body.clear();
        co_await reject_request(stream, handler, limits, *code, request, http10);
      }
      co_return;
    }

    request.body = std::move(parser.get().body());
    request.body.reserve(request.body.size() + kJsonPadding);
    // What the response no longer needs goes before it starts: a stream may last minutes, and
    // an empty read buffer is 4 KiB that the next request's read allocates again.
    parser_storage.reset();
    if (buf.size() == 0) buf.shrink_to_fit();
    ConnectionWriter out(stream, limits, request.keep_alive, http10);
    co_await handler.handle(request, out);
    if (!out.reusable()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

}  // namespace relay::http
