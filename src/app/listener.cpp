#include "app/listener.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <stdexcept>

#include "app/connection_limiter.hpp"
#include "app/tls_context.hpp"

namespace relay::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Holds the connection's slot for as long as the session runs.
asio::awaitable<void> serve(tcp::socket sock, std::shared_ptr<asio::ssl::context> tls,
                            ConnectionLimiter::Slot slot, http::RequestHandler& handler,
                            const http::SessionLimits& limits, ConnectionLimiter* refusing) {
  std::optional<ErrorCode> refuse;
  if (refusing != nullptr) refuse = ErrorCode::kTooManyConnections;
  co_await http::run_session(std::move(sock), std::move(tls), handler, limits, refuse);
  slot.release();
  if (refusing != nullptr) refusing->end_refusal_answer();
}

}  // namespace

Endpoint parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected HOST:PORT, got " + text);
  Endpoint e;
  e.host = text.substr(0, colon);
  if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']')
    e.host = e.host.substr(1, e.host.size() - 2);
  if (e.host.empty()) e.host = "0.0.0.0";
  std::string_view port = std::string_view(text).substr(colon + 1);
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || p != port.data() + port.size() || value > 65535)
    throw std::invalid_argument("bad port in " + text);
  e.port = static_cast<unsigned short>(value);
  return e;
}

Listener::Listener(asio::io_context& io, const Endpoint& where, http::RequestHandler& handler,
                   const http::SessionLimits& limits, ListenerGuards guards)
    : io_(io), acceptor_(io), handler_(handler), limits_(limits), guards_(guards) {
  tcp::endpoint ep(asio::ip::make_address(where.host), where.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    throw std::runtime_error("SO_REUSEPORT not available");
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void Listener::start() {
  asio::co_spawn(
      io_,
      [this]() -> asio::awaitable<void> {
        asio::steady_timer backoff(io_);
        for (;;) {
          auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
          if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
          if (ec) {
            // Out of file descriptors or similar: back off instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
          }
          boost::system::error_code ignored;
          sock.set_option(tcp::no_delay(true), ignored);
          ConnectionLimiter::Slot slot;
          ConnectionLimiter* refusing = nullptr;  // set: answer 503 and close
          if (guards_.limiter != nullptr) {
            auto peer = sock.remote_endpoint(ec);
            if (ec) continue;  // already gone
            auto verdict = ConnectionLimiter::Verdict::kAdmitted;
            slot = guards_.limiter->acquire(peer.address(), verdict);
            if (verdict != ConnectionLimiter::Verdict::kAdmitted) {
              if (!guards_.limiter->begin_refusal_answer()) {
                sock.close(ignored);
                continue;
              }
              refusing = guards_.limiter;
            }
          }
          auto tls = guards_.tls != nullptr ? guards_.tls->current() : nullptr;
          asio::co_spawn(
              io_,
              serve(std::move(sock), std::move(tls), std::move(slot), handler_, limits_, refusing),
              asio::detached);
        }
      },
      asio::detached);
}

void Listener::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace relay::app
