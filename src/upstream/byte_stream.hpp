#pragma once
// The bytes of one upstream connection, whatever carries them: TCP, TLS over TCP, or TLS inside a
// tunnel through a TLS proxy (an https egress: TLS inside TLS). Virtual, so that the layers stack
// at run time rather than as a template per combination (and compile once).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <string>

namespace relay::upstream {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // At least one byte, or `ec` (asio::error::eof: the peer closed).
  virtual boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buf,
                                                        boost::system::error_code& ec) = 0;
  virtual boost::asio::awaitable<void> write_all(boost::asio::const_buffer buf,
                                                 boost::system::error_code& ec) = 0;
  // The TCP socket at the bottom: closing it ends every pending operation of every layer.
  virtual boost::asio::ip::tcp::socket& socket() = 0;
  // Why the last operation failed, in words, when the layer knows more than its error code
  // (a TLS certificate check). Never a credential.
  virtual std::string failure() const { return {}; }
};

// Plain TCP; the socket is opened by connect_tcp.
class TcpStream final : public ByteStream {
 public:
  explicit TcpStream(const boost::asio::any_io_executor& ex) : socket_(ex) {}
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buf,
                                                boost::system::error_code& ec) override;
  boost::asio::awaitable<void> write_all(boost::asio::const_buffer buf,
                                         boost::system::error_code& ec) override;
  boost::asio::ip::tcp::socket& socket() override { return socket_; }

 private:
  boost::asio::ip::tcp::socket socket_;
  bool drained_ = false;  // the last read emptied the socket
};

// Resolves `host` (an IP literal is used as is) and connects `socket` to the first address that
// answers, with Nagle off. `why` says what failed, naming host and port (never more).
boost::asio::awaitable<void> connect_tcp(boost::asio::ip::tcp::socket& socket,
                                         boost::asio::ip::tcp::resolver& resolver,
                                         const std::string& host, std::uint16_t port,
                                         boost::system::error_code& ec, std::string& why);

}  // namespace relay::upstream
