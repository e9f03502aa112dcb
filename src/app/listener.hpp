#pragma once
// One acceptor per io thread on the same port (SO_REUSEPORT), so the kernel spreads new
// connections over the threads; Codex opens a connection per request, so accepting is hot.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "http/session.hpp"

namespace relay::app {

class ConnectionLimiter;
class TlsContextStore;

// What the client listener adds to the admin one: TLS and connection limits (null: none).
struct ListenerGuards {
  TlsContextStore* tls = nullptr;
  ConnectionLimiter* limiter = nullptr;
};

struct Endpoint {
  std::string host;
  unsigned short port = 0;
};

// "127.0.0.1:8080", "[::1]:8080", ":8080" (all interfaces). Throws std::invalid_argument.
Endpoint parse_endpoint(const std::string& text);

class Listener {
 public:
  Listener(boost::asio::io_context& io, const Endpoint& where, http::RequestHandler& handler,
           const http::SessionLimits& limits, ListenerGuards guards = {});
  unsigned short port() const { return port_; }
  void start();
  void stop();  // closes the acceptor; open connections finish their requests

 private:
  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  http::RequestHandler& handler_;
  const http::SessionLimits& limits_;
  ListenerGuards guards_;
  unsigned short port_ = 0;
};

}  // namespace relay::app
