// The exchange of a Transfer: a connection from the pool or a new one (TCP, the egress tunnel,
// TLS), the request, then the response parsed as it arrives.
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "egress/proxy_url.hpp"
#include "upstream/client.hpp"
#include "upstream/proxy_tunnel.hpp"
#include "upstream/response_parser.hpp"
#include "upstream/tls_stream.hpp"
#include "upstream/transfer_state.hpp"

namespace relay::upstream {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using State = Transfer::State;

namespace {

// A read is parsed before the coroutine suspends again (TcpStream reads only once the socket is
// readable), so one buffer per io thread serves every transfer: an open stream holds no read
// buffer of its own (bench/README.md, W4 memory).
std::array<char, std::size_t{64} * 1024>& read_buffer() {
  thread_local std::array<char, std::size_t{64} * 1024> buffer;
  return buffer;
}

std::string describe(const ByteStream& conn, const error_code& ec) {
  std::string f = conn.failure();
  return f.empty() ? ec.message() : f;
}

// Wraps `stream` in TLS to `host` and shakes hands; nullptr and s.error on failure.
asio::awaitable<std::unique_ptr<ByteStream>> add_tls(State& s, Client& client,
                                                     std::unique_ptr<ByteStream> stream,
                                                     const std::string& host,
                                                     const std::string& ca_file, bool alpn,
                                                     const std::string& whom) {
  std::string why;
  SSL* ssl = client.tls().make_ssl(ca_file, host, alpn, why);
  if (ssl == nullptr) {
    s.error = why;
    co_return nullptr;
  }
  auto tls = std::make_unique<TlsStream>(std::move(stream), ssl);
  error_code ec;
  co_await tls->handshake(ec);
  if (ec) {
    s.error = "TLS with " + whom + " failed: " + describe(*tls, ec);
    co_return nullptr;
  }
  co_return tls;
}

// A new connection to the target, through the egress when there is one.
asio::awaitable<std::unique_ptr<ByteStream>> open_connection(State& s, Client& client) {
  const Target& t = *s.target;
  auto tcp = std::make_unique<TcpStream>(client.io().get_executor());
  s.socket = &tcp->socket();
  std::unique_ptr<ByteStream> stream = std::move(tcp);
  error_code ec;
  std::string why;
  if (!s.proxy.empty()) {
    auto parsed = egress::parse_proxy_url(s.proxy);
    if (!parsed.url) {
      s.error = "the egress URL is invalid: " + parsed.error;
      co_return nullptr;
    }
    const egress::ProxyUrl& p = *parsed.url;
    co_await connect_tcp(stream->socket(), s.name_resolver(), p.host,
                         static_cast<std::uint16_t>(p.port), ec, why);
    if (ec) {
      s.error = "egress " + p.endpoint() + ": " + why;
      co_return nullptr;
    }
    if (p.scheme == "https") {
      stream = co_await add_tls(s, client, std::move(stream), p.host, s.proxy_ca_file, false,
                                "egress " + p.endpoint());
      if (!stream) co_return nullptr;
    }
    co_await open_tunnel(*stream, p, t.host, t.port, ec, why);
    if (ec) {
      s.error = why;
      co_return nullptr;
    }
  } else {
    co_await connect_tcp(stream->socket(), s.name_resolver(), t.host, t.port, ec, why);
    if (ec) {
      s.error = why;
      co_return nullptr;
    }
  }
  if (t.tls)
    stream = co_await add_tls(s, client, std::move(stream), t.host, s.ca_file, true,
                              t.host + ":" + std::to_string(t.port));
  co_return stream;
}

enum class Ending {
  kKeep,   // complete, and the connection may carry the next request
  kClose,  // complete or failed: the connection goes
  kStale,  // a pooled connection failed before any response byte: try a fresh one
};

// Sends the request and reads the response into the state.
asio::awaitable<Ending> exchange(State& s, ByteStream& conn, bool reused) {
  error_code ec;
  co_await conn.write_all(asio::buffer(s.wire), ec);
  if (s.done) co_return Ending::kClose;
  if (ec) {
    if (reused) co_return Ending::kStale;
    s.finish("sending the request to the upstream failed: " + describe(conn, ec));
    co_return Ending::kClose;
  }
  std::optional<ResponseParser> parser;
  parser.emplace(s.buffer);
  if (s.head_request) parser->no_body();
  std::string in;  // bytes read but not yet parsed: a head or a chunk header cut by a read
  bool any = false;
  for (;;) {
    while (s.buffer.size() >= s.buffer_limit && !s.done) {
      s.paused = true;
      s.resume_timer().expires_at(Clock::time_point::max());
      co_await s.resume_timer().async_wait(asio::as_tuple(asio::use_awaitable));
    }
    s.paused = false;
    if (s.done) co_return Ending::kClose;
    auto& rb = read_buffer();
    std::size_t n = co_await conn.read_some(asio::buffer(rb), ec);
    if (s.done) co_return Ending::kClose;
    if (ec && !any && reused) co_return Ending::kStale;
    if (ec == asio::error::eof) {
      error_code pe;
      parser->feed_eof(pe);
      if (!pe && parser->done() && in.empty()) {
        s.finish({});
      } else {
        s.finish(any ? "the upstream closed the connection before the response was complete"
                     : "the upstream closed the connection without answering");
      }
      co_return Ending::kClose;
    }
    if (ec) {
      s.finish("reading from the upstream failed: " + describe(conn, ec));
      co_return Ending::kClose;
    }
    if (!std::exchange(any, true)) {
      // A response has begun: the request will not be sent again (kStale is before this).
      std::string().swap(s.wire);
    }
    const bool from_in = !in.empty();
    if (from_in) in.append(rb.data(), n);
    std::string_view data = from_in ? std::string_view(in) : std::string_view(rb.data(), n);
    const std::size_t before = s.buffer.size();
    std::size_t used = 0;
    error_code pe;
    for (;;) {
      used += parser->feed(data.substr(used), pe);
      const int status = parser->status();
      if (pe || !parser->done() || status < 100 || status > 199 || status == 101) break;
      parser.emplace(s.buffer);  // an interim (1xx) response: the real one follows
      if (s.head_request) parser->no_body();
    }
    if (pe) {
      s.finish("the upstream's response is malformed (" + pe.message() + ")");
      co_return Ending::kClose;
    }
    if (from_in)
      in.erase(0, used);
    else
      in.assign(data.substr(used));
    if (in.empty()) in.shrink_to_fit();  // a slow stream's events rarely come cut
    bool progressed = s.buffer.size() != before;
    if (!s.headers_ready && parser->header_done()) {
      s.status = parser->status();
      s.headers = parser->take_headers();
      s.headers_ready = true;
      progressed = true;
    }
    if (progressed) {
      s.last_progress = Clock::now();
      s.notify();
    }
    if (parser->done()) {
      const bool keep = parser->keep_alive() && in.empty();
      s.finish({});
      co_return keep ? Ending::kKeep : Ending::kClose;
    }
  }
}

void arm_watchdog(const std::shared_ptr<State>& sp) {
  sp->watchdog_timer().expires_after(std::chrono::milliseconds(sp->connect_timeout_ms));
  sp->watchdog_timer().async_wait([weak = std::weak_ptr<State>(sp)](error_code ec) {
    auto s = weak.lock();
    if (ec || !s || s->done) return;
    s->timed_out = true;
    if (s->resolver) s->resolver->cancel();
    error_code ignored;
    if (s->socket) s->socket->close(ignored);
  });
}

}  // namespace

asio::awaitable<void> run_transfer(std::shared_ptr<State> sp, Client& client) {
  State& s = *sp;
  // At most two rounds: the second only when a pooled connection went stale, and it takes a
  // fresh connection, which cannot.
  for (int attempt = 0; attempt < 2 && !s.done; ++attempt) {
    std::unique_ptr<ByteStream> conn;
    if (attempt == 0 && !s.connect_only) conn = client.take(s.destination);
    const bool reused = conn != nullptr;
    if (!conn) {
      arm_watchdog(sp);
      conn = co_await open_connection(s, client);
      s.watchdog_timer().cancel();
      if (!conn) {
        s.socket = nullptr;
        if (s.timed_out)
          s.error = "no connection to the upstream within " + std::to_string(s.connect_timeout_ms) +
                    " ms";
        s.finish(s.cancelled ? std::string() : s.error);
        co_return;
      }
    }
    s.socket = &conn->socket();
    if (s.done || s.connect_only) {
      s.socket = nullptr;
      s.finish({});
      co_return;
    }
    const Ending end = co_await exchange(s, *conn, reused);
    s.socket = nullptr;
    if (end == Ending::kKeep) client.give_back(s.destination, std::move(conn));
    if (end != Ending::kStale) co_return;
  }
}

}  // namespace relay::upstream
