#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "upstream/byte_stream.hpp"

namespace relay::upstream {

namespace asio = boost::asio;
using asio::ip::tcp;

// Waits until the socket is readable, then reads at once: the bytes land in `buf` only while
// the caller runs, so callers may share one buffer per thread (transfer_run.cpp). asio's
// async_read_some would fill it later, from the reactor, perhaps under another transfer's bytes.
// After a read that did not fill the buffer the socket is known to be empty, so the next read
// waits first rather than spend a system call on EAGAIN (asio's wait re-arms the edge-triggered
// registration, so bytes that came in between are not missed). A wait may also wake with
// nothing to read (an event older than the last read): the read then says EAGAIN, and it waits
// again.
asio::awaitable<std::size_t> TcpStream::read_some(asio::mutable_buffer buf,
                                                  boost::system::error_code& ec) {
  for (;;) {
    if (!drained_) {
      std::size_t n = socket_.read_some(buf, ec);
      if (ec != asio::error::would_block && ec != asio::error::try_again) {
        drained_ = !ec && n < buf.size();
        co_return n;
      }
    }
    auto [e] = co_await socket_.async_wait(asio::socket_base::wait_read,
                                           asio::as_tuple(asio::use_awaitable));
    if (e) {
      ec = e;
      co_return 0;
    }
    drained_ = false;
  }
}

// The socket is non-blocking (connect_tcp): a request usually fits its buffer and goes out here,
// without a completion through the scheduler; what does not fit is awaited.
asio::awaitable<void> TcpStream::write_all(asio::const_buffer buf, boost::system::error_code& ec) {
  const std::size_t n = socket_.write_some(buf, ec);
  if (!ec && n == buf.size()) co_return;
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return;
  buf += ec ? 0 : n;
  auto [e, rest] = co_await asio::async_write(socket_, buf, asio::as_tuple(asio::use_awaitable));
  (void)rest;
  ec = e;
}

asio::awaitable<void> connect_tcp(tcp::socket& socket, tcp::resolver& resolver,
                                  const std::string& host, std::uint16_t port,
                                  boost::system::error_code& ec, std::string& why) {
  const std::string where = host + ":" + std::to_string(port);
  boost::system::error_code literal_ec;
  auto address = asio::ip::make_address(host, literal_ec);
  if (!literal_ec) {
    auto [e] = co_await socket.async_connect(tcp::endpoint(address, port),
                                             asio::as_tuple(asio::use_awaitable));
    ec = e;
  } else {
    auto [re, endpoints] = co_await resolver.async_resolve(host, std::to_string(port),
                                                           asio::as_tuple(asio::use_awaitable));
    if (re) {
      ec = re;
      why = "could not resolve " + host + ": " + re.message();
      co_return;
    }
    auto [e, ep] =
        co_await asio::async_connect(socket, endpoints, asio::as_tuple(asio::use_awaitable));
    (void)ep;
    ec = e;
  }
  if (ec) {
    why = "could not connect to " + where + ": " + ec.message();
    co_return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);  // read_some must never block the io thread
  if (ec) why = "could not set up the socket to " + where + ": " + ec.message();
}

}  // namespace relay::upstream
